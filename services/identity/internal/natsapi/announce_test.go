package natsapi_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/nats-io/nats.go"
)

// TestSessionsChangedIsAnnounced: every change that may end or narrow a
// user's sessions reaches the gateways as an event naming the user, and
// nothing else is announced.
func TestSessionsChangedIsAnnounced(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	bob := h.createUser(t, admin, "bob@example.com", identity.RoleDeveloper)
	sub, err := natstest.Connect(t, h.url).SubscribeSync(identity.SubjectSessionsChanged)
	if err != nil {
		t.Fatal(err)
	}
	next := func(t *testing.T) (string, bool) {
		t.Helper()
		msg, err := sub.NextMsg(2 * time.Second)
		if err == nats.ErrTimeout {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		var ev identity.SessionsChanged
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			t.Fatalf("event %q: %v", msg.Data, err)
		}
		return ev.UserID, true
	}
	want := func(t *testing.T, userID string) {
		t.Helper()
		if got, ok := next(t); !ok || got != userID {
			t.Fatalf("announced %q (%v), want %q", got, ok, userID)
		}
	}
	t.Run("login and authenticate announce nothing", func(t *testing.T) {
		s := h.login(t, "bob@example.com")
		must[identity.Principal](t)(h.authenticate(s.Token))
		if got, ok := next(t); ok {
			t.Fatalf("announced %q", got)
		}
	})
	t.Run("logout", func(t *testing.T) {
		s := h.login(t, "bob@example.com")
		must[identity.LogoutResponse](t)(call[identity.LogoutResponse](anonymous(), h, identity.SubjectLogout, identity.LogoutRequest{Token: s.Token}))
		want(t, bob.ID)
	})
	t.Run("a new role", func(t *testing.T) {
		must[identity.User](t)(update(h, admin, identity.UpdateUserRequest{ID: bob.ID, Role: new(identity.RoleOperator)}))
		want(t, bob.ID)
	})
	t.Run("a refused update announces nothing", func(t *testing.T) {
		if _, err := update(h, admin, identity.UpdateUserRequest{ID: admin.ID, Disabled: new(true)}); err == nil {
			t.Fatal("the last admin was disabled")
		}
		if got, ok := next(t); ok {
			t.Fatalf("announced %q", got)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		must[identity.DeleteUserResponse](t)(call[identity.DeleteUserResponse](actorOf(admin), h, identity.SubjectUsersDelete, identity.DeleteUserRequest{ID: bob.ID}))
		want(t, bob.ID)
	})
}
