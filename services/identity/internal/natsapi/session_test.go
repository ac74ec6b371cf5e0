package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/identity/internal/user"
)

func TestAuthenticate(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	s := h.login(t, adminEmail)
	lastSeen := func() time.Time {
		var at time.Time
		if err := h.pool.QueryRow(t.Context(), "SELECT last_seen_at FROM sessions").Scan(&at); err != nil {
			t.Fatal(err)
		}
		return at
	}
	t.Run("a valid token gives its user and session", func(t *testing.T) {
		p, err := h.authenticate(s.Token)
		if err != nil || p.User.ID != admin.ID || p.User.Role != identity.RoleAdmin || p.SessionID == "" || !p.ExpiresAt.Equal(s.ExpiresAt) {
			t.Fatalf("principal = %+v, %v", p, err)
		}
	})
	for _, bad := range []struct{ name, token string }{
		{"an empty token", ""},
		{"a malformed token", "Bearer something"},
		{"a well-formed unknown token", "exk_st_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
	} {
		t.Run(bad.name+" is unauthenticated", func(t *testing.T) {
			_, err := h.authenticate(bad.token)
			wantKind(t, err, errs.Unauthenticated)
		})
	}
	t.Run("use within a minute is not written back", func(t *testing.T) {
		before := lastSeen()
		h.clock.Advance(59 * time.Second)
		must[identity.Principal](t)(h.authenticate(s.Token))
		if !lastSeen().Equal(before) {
			t.Fatal("last_seen_at written within a minute")
		}
	})
	t.Run("use after a minute slides the idle timeout", func(t *testing.T) {
		h.clock.Advance(time.Second)
		p := must[identity.Principal](t)(h.authenticate(s.Token))
		if !lastSeen().Equal(h.clock.Now()) || !p.ExpiresAt.Equal(h.clock.Now().Add(user.IdleTimeout)) {
			t.Fatalf("last_seen_at %s, expires_at %s", lastSeen(), p.ExpiresAt)
		}
	})
	t.Run("a session used every 29 minutes lives on", func(t *testing.T) {
		for range 4 {
			h.clock.Advance(29 * time.Minute)
			must[identity.Principal](t)(h.authenticate(s.Token))
		}
	})
	t.Run("a session idle for 30 minutes has ended", func(t *testing.T) {
		h.clock.Advance(user.IdleTimeout)
		_, err := h.authenticate(s.Token)
		wantKind(t, err, errs.Unauthenticated)
	})
	t.Run("a session ends at the absolute timeout however busy", func(t *testing.T) {
		busy := h.login(t, adminEmail)
		for elapsed := time.Duration(0); elapsed < user.AbsoluteTimeout-20*time.Minute; elapsed += 20 * time.Minute {
			h.clock.Advance(20 * time.Minute)
			must[identity.Principal](t)(h.authenticate(busy.Token))
		}
		h.clock.Advance(20 * time.Minute)
		_, err := h.authenticate(busy.Token)
		wantKind(t, err, errs.Unauthenticated)
	})
	t.Run("expired sessions are deleted", func(t *testing.T) {
		var n int
		if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM sessions").Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d sessions left, %v", n, err)
		}
	})
}

func TestLogout(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	s1, s2 := h.login(t, adminEmail), h.login(t, adminEmail)
	logout := func(token string) error {
		_, err := call[identity.LogoutResponse](actorOf(admin), h, identity.SubjectLogout, identity.LogoutRequest{Token: token})
		return err
	}
	t.Run("logout ends the session at once", func(t *testing.T) {
		if err := logout(s1.Token); err != nil {
			t.Fatal(err)
		}
		_, err := h.authenticate(s1.Token)
		wantKind(t, err, errs.Unauthenticated)
	})
	t.Run("other sessions of the user go on", func(t *testing.T) {
		if _, err := h.authenticate(s2.Token); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a second logout with the same token is unauthenticated", func(t *testing.T) {
		wantKind(t, logout(s1.Token), errs.Unauthenticated)
	})
	t.Run("a disabled user's session is refused", func(t *testing.T) {
		bob := h.createUser(t, admin, "bob@x.test", identity.RoleAdmin)
		s := h.login(t, bob.Email)
		if _, err := h.pool.Exec(t.Context(), "UPDATE users SET disabled = true WHERE id = $1", bob.ID); err != nil {
			t.Fatal(err)
		}
		_, err := h.authenticate(s.Token)
		wantKind(t, err, errs.Unauthenticated)
	})
}
