package natsapi_test

import (
	"fmt"
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

// TestUserNamesAreVisibleText pins that a user's name and email hold no
// control, format or bidirectional characters: "admin\u202egnp.exe" reads as
// "adminexe.png" wherever it is shown.
func TestUserNamesAreVisibleText(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	bad := []string{"admin\u202egnp.exe", "a\u202db", "a\u2067b", "a\u2069", "a\u200eb", "a\u200bb", "a\u2029b", "a\u009bb", "\ufeffa"}
	for i, name := range bad {
		t.Run(fmt.Sprintf("name %+q", name), func(t *testing.T) {
			_, err := call[identity.User](actorOf(admin), h, identity.SubjectUsersCreate,
				identity.CreateUserRequest{Email: fmt.Sprintf("u%d@x.test", i), Password: password, Name: name})
			wantInvalid(t, err, "name")
			_, err = update(h, admin, identity.UpdateUserRequest{ID: admin.ID, Name: &name})
			wantInvalid(t, err, "name")
		})
	}
	t.Run("email", func(t *testing.T) {
		_, err := call[identity.User](actorOf(admin), h, identity.SubjectUsersCreate,
			identity.CreateUserRequest{Email: "moc.live\u202e@x.test", Password: password, Name: "E"})
		wantInvalid(t, err, "email")
	})
	for i, name := range []string{"Zoë O’Brien", "محمد", "李小龍", "👩‍💻 Ada"} {
		if _, err := call[identity.User](actorOf(admin), h, identity.SubjectUsersCreate,
			identity.CreateUserRequest{Email: fmt.Sprintf("ok%d@x.test", i), Password: password, Name: name}); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
}
