package natsapi_test

import (
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
)

// wantInvalid fails t unless err is invalid_argument naming field.
func wantInvalid(t testing.TB, err error, field string) {
	t.Helper()
	if _, msg := errs.Public(err); !errs.Is(err, errs.InvalidArgument) || !strings.Contains(msg, field) {
		t.Fatalf("error = %v, want invalid_argument naming %s", err, field)
	}
}

// TestLoginPasswordIsBounded pins that a password longer than any password
// can be (identity.MaxPasswordBytes) is refused as such, before it is
// hashed or counted as a failed sign-in.
func TestLoginPasswordIsBounded(t *testing.T) {
	h := newHarness(t, fastParams)
	h.bootstrap(t)
	_, err := loginAs(anonymous(), h, adminEmail, strings.Repeat("<", identity.MaxPasswordBytes+1))
	wantInvalid(t, err, "password")
	for _, ev := range h.events(t) {
		if ev.Action == "auth.login" {
			t.Fatalf("the refused sign-in was audited: %+v", ev)
		}
	}
}
