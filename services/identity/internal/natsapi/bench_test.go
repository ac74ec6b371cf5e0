package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/testkit/ldaptest"
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

// BenchmarkAuthenticateAPIToken measures resolving an API token, which the
// gateway asks identity about on every request that carries one.
func BenchmarkAuthenticateAPIToken(b *testing.B) {
	h := newHarness(b, fastParams)
	admin := h.bootstrap(b)
	created, err := h.createToken(actorOf(admin), identity.CreateTokenRequest{Name: "bench", Scopes: []string{identity.ScopeRead},
		ExpiresAt: h.clock.Now().Add(24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.authenticate(created.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectoryLogin measures a directory sign-in against a real
// slapd: service bind, user search, user bind, nested groups, the session.
func BenchmarkDirectoryLogin(b *testing.B) {
	s := ldaptest.Start(b)
	h := newHarness(b, fastParams)
	h.bootstrap(b)
	svc := directoryService(b, h, s)
	for b.Loop() {
		if _, err := svc.Login(anonymous(), "carol", ldaptest.Password("carol")); err != nil {
			b.Fatal(err)
		}
	}
}
