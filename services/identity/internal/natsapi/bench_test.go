package natsapi_test

import (
	"testing"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/services/identity/internal/user"
)

// BenchmarkLogin measures a whole sign-in with the production argon2id
// parameters: a NATS round trip, the throttle (Redis), the user lookup, the
// hash, and the session with its audit event (PostgreSQL).
func BenchmarkLogin(b *testing.B) {
	h := newHarness(b, user.DefaultParams)
	h.bootstrap(b)
	req := identity.LoginRequest{Email: adminEmail, Password: password}
	for b.Loop() {
		if _, err := call[identity.Session](anonymous(), h, identity.SubjectLogin, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuthenticate measures resolving a session token, as the gateway
// does on every request.
func BenchmarkAuthenticate(b *testing.B) {
	h := newHarness(b, fastParams)
	h.bootstrap(b)
	token := h.login(b, adminEmail).Token
	for b.Loop() {
		if _, err := h.authenticate(token); err != nil {
			b.Fatal(err)
		}
	}
}
