package natsapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/identity/internal/user"
)

func loginAs(ctx context.Context, h *harness, email, pw string) (identity.Session, error) {
	return call[identity.Session](ctx, h, identity.SubjectLogin, identity.LoginRequest{Email: email, Password: pw})
}

// from is a context from another source address.
func from(ip string) context.Context {
	return caller.With(context.Background(), caller.Info{Actor: caller.Actor{Type: "anonymous"}, SourceIP: ip})
}

func TestLogin(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	off := h.createUser(t, admin, "off@x.test", identity.RoleOperator)
	if _, err := update(h, admin, identity.UpdateUserRequest{ID: off.ID, Disabled: new(true)}); err != nil {
		t.Fatal(err)
	}
	t.Run("the right password in any email case gives a session", func(t *testing.T) {
		s, err := loginAs(anonymous(), h, strings.ToLower(adminEmail), password)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s.Token, "exk_st_") || len(s.Token) != 50 || s.User.ID != admin.ID || s.User.Role != identity.RoleAdmin {
			t.Fatalf("session = %+v", s)
		}
		if want := h.clock.Now().Add(user.IdleTimeout); !s.ExpiresAt.Equal(want) {
			t.Fatalf("expires_at = %s, want %s", s.ExpiresAt, want)
		}
		if s.User.LastLoginAt == nil || !s.User.LastLoginAt.Equal(h.clock.Now()) {
			t.Fatalf("last_login_at = %v", s.User.LastLoginAt)
		}
	})
	t.Run("last_login_at is kept", func(t *testing.T) {
		u := must[identity.User](t)(call[identity.User](actorOf(admin), h, identity.SubjectUsersGet, identity.GetUserRequest{ID: admin.ID}))
		if u.LastLoginAt == nil || !u.LastLoginAt.Equal(h.clock.Now()) {
			t.Fatalf("last_login_at = %v", u.LastLoginAt)
		}
	})
	t.Run("the token is stored only as its SHA-256", func(t *testing.T) {
		s := h.login(t, adminEmail)
		var n int
		err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions WHERE token_hash = sha256(convert_to($1, 'UTF8'))", s.Token).Scan(&n)
		if err != nil || n != 1 {
			t.Fatalf("sessions with the token's hash = %d, %v", n, err)
		}
	})
	failures := []struct{ name, email, password string }{
		{"a wrong password", adminEmail, "not the password at all"},
		{"an unknown email", "nobody@x.test", password},
		{"a disabled user", "off@x.test", password},
		{"a malformed email", "not an email", password},
		{"an empty request", "", ""},
	}
	var first string
	for _, tt := range failures {
		t.Run(tt.name+" gives the one invalid_credentials error", func(t *testing.T) {
			_, err := loginAs(from("192.0.2."+fmt.Sprint(len(tt.name))), h, tt.email, tt.password)
			wantKind(t, err, errs.InvalidCredentials)
			_, msg := errs.Public(err)
			if first == "" {
				first = msg
			}
			if msg != first || msg != "invalid email or password" {
				t.Fatalf("message %q, want %q", msg, "invalid email or password")
			}
		})
	}
}

func TestLoginThrottle(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	victim := h.createUser(t, admin, "victim@x.test", identity.RoleOperator)
	retry := func(t *testing.T, err error, want time.Duration) {
		t.Helper()
		wantKind(t, err, errs.RateLimited)
		if got := errs.RetryAfter(err); got != want {
			t.Fatalf("retry after %s, want %s", got, want)
		}
		if _, msg := errs.Public(err); !strings.Contains(msg, fmt.Sprintf("retry in %d second", int(want.Seconds()))) {
			t.Fatalf("message %q", msg)
		}
	}
	t.Run("successful sign-ins are never throttled", func(t *testing.T) {
		for range user.AccountBurst * 3 {
			h.login(t, victim.Email)
		}
	})
	t.Run("after five failures an account is throttled, even with the right password", func(t *testing.T) {
		for i := range user.AccountBurst {
			_, err := loginAs(from(fmt.Sprintf("203.0.113.%d", i)), h, victim.Email, "wrong guess number "+fmt.Sprint(i))
			wantKind(t, err, errs.InvalidCredentials)
		}
		_, err := loginAs(from("203.0.113.99"), h, strings.ToUpper(victim.Email), password)
		retry(t, err, user.AccountRefill)
	})
	t.Run("the account recovers one attempt per refill period", func(t *testing.T) {
		h.clock.Advance(user.AccountRefill - time.Second)
		_, err := loginAs(anonymous(), h, victim.Email, password)
		retry(t, err, time.Second)
		h.clock.Advance(time.Second)
		if _, err := loginAs(anonymous(), h, victim.Email, password); err != nil {
			t.Fatalf("after the refill: %v", err)
		}
	})
	t.Run("after twenty failures an address is throttled for every account", func(t *testing.T) {
		ctx := from("192.0.2.66")
		for i := range user.AddressBurst {
			_, err := loginAs(ctx, h, fmt.Sprintf("spray%d@x.test", i), password)
			wantKind(t, err, errs.InvalidCredentials)
		}
		_, err := loginAs(ctx, h, adminEmail, password)
		retry(t, err, user.AddressRefill)
		if _, err := loginAs(from("192.0.2.67"), h, adminEmail, password); err != nil {
			t.Fatalf("another address: %v", err)
		}
		h.clock.Advance(user.AddressRefill)
		if _, err := loginAs(ctx, h, adminEmail, password); err != nil {
			t.Fatalf("after the refill: %v", err)
		}
	})
}

func TestLoginRehashesWeakerHashes(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	storedHash := func() string {
		var hash string
		if err := h.pool.QueryRow(t.Context(), "SELECT password_hash FROM users WHERE id = $1", admin.ID).Scan(&hash); err != nil {
			t.Fatal(err)
		}
		return hash
	}
	before := storedHash()
	stronger := h.service(t, user.DefaultParams)
	t.Run("a sign-in with stronger parameters in force rehashes the password", func(t *testing.T) {
		if _, err := stronger.Login(anonymous(), adminEmail, password); err != nil {
			t.Fatal(err)
		}
		after := storedHash()
		if !strings.HasPrefix(before, "$argon2id$v=19$m=64,t=1,p=1$") || !strings.HasPrefix(after, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Fatalf("hash before %q, after %q", before[:30], after[:35])
		}
	})
	t.Run("the new hash signs in and is kept", func(t *testing.T) {
		after := storedHash()
		if _, err := stronger.Login(anonymous(), adminEmail, password); err != nil {
			t.Fatal(err)
		}
		if storedHash() != after {
			t.Fatal("rehashed again")
		}
	})
	t.Run("the event says the password was rehashed, not what it is", func(t *testing.T) {
		evs := h.events(t)
		last := evs[len(evs)-2]
		if last.Action != "auth.login" || last.Details["password_rehashed"] != true || strings.Contains(last.Raw, "argon2") {
			t.Fatalf("event %s", last.Raw)
		}
	})
}

func TestLoginTiming(t *testing.T) {
	h := newHarness(t, user.DefaultParams)
	h.bootstrap(t)
	hasher := user.NewHasher(user.DefaultParams, 1)
	hash, _ := hasher.Hash(t.Context(), password)
	fastest := func(n int, fn func()) time.Duration {
		best := time.Hour
		for range n {
			start := time.Now()
			fn()
			best = min(best, time.Since(start))
		}
		return best
	}
	verify := fastest(3, func() { hasher.Verify(t.Context(), password, hash) })
	unknown := fastest(3, func() { loginAs(from("192.0.2.1"), h, "nobody@x.test", password) })
	wrong := fastest(3, func() { loginAs(from("192.0.2.2"), h, adminEmail, "wrong password here") })
	t.Logf("argon2id verify %s; unknown email %s; wrong password %s", verify, unknown, wrong)
	t.Run("an unknown email costs a password hash, like a wrong password", func(t *testing.T) {
		if unknown < verify/2 || wrong < verify/2 {
			t.Fatalf("unknown email %s, wrong password %s, one hash %s", unknown, wrong, verify)
		}
	})
}
