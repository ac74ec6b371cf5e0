package natsapi_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
)

func TestAuditEvents(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	secondPassword := "another long passphrase"
	loginAs(from("192.0.2.10"), h, adminEmail, "a wrong password")
	loginAs(from("192.0.2.11"), h, "Nobody@X.test", password)
	s := h.login(t, adminEmail)
	bob := h.createUser(t, admin, "bob@x.test", identity.RoleOperator)
	if _, err := update(h, admin, identity.UpdateUserRequest{ID: bob.ID, Role: new(identity.RoleDeveloper), Password: &secondPassword}); err != nil {
		t.Fatal(err)
	}
	if err := remove(h, admin, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := call[identity.LogoutResponse](actorOf(admin), h, identity.SubjectLogout, identity.LogoutRequest{Token: s.Token}); err != nil {
		t.Fatal(err)
	}
	evs := h.events(t)

	want := []struct {
		action, outcome, reason, actorType, actorEmail, target string
	}{
		{"setup.bootstrap", audit.Success, "", audit.ActorSystem, "", admin.ID},
		{"auth.login", audit.Failure, "wrong_password", audit.ActorUser, adminEmail, admin.ID},
		{"auth.login", audit.Failure, "unknown_email", audit.ActorUser, "Nobody@X.test", ""},
		{"auth.login", audit.Success, "", audit.ActorUser, adminEmail, admin.ID},
		{"user.create", audit.Success, "", audit.ActorUser, adminEmail, bob.ID},
		{"user.update", audit.Success, "", audit.ActorUser, adminEmail, bob.ID},
		{"user.delete", audit.Success, "", audit.ActorUser, adminEmail, bob.ID},
		{"auth.logout", audit.Success, "", audit.ActorUser, adminEmail, admin.ID},
	}
	t.Run("every action is in the outbox with its actor, target and outcome", func(t *testing.T) {
		if len(evs) != len(want) {
			t.Fatalf("%d events, want %d", len(evs), len(want))
		}
		for i, w := range want {
			ev := evs[i]
			if ev.Action != w.action || ev.Outcome != w.outcome || ev.Reason != w.reason ||
				ev.Actor.Type != w.actorType || ev.Actor.Email != w.actorEmail || ev.Target.ID != w.target {
				t.Errorf("event %d = %s\nwant %+v", i, ev.Raw, w)
			}
			if ev.Service != "identity" {
				t.Errorf("event %d service %q", i, ev.Service)
			}
		}
	})
	t.Run("an event carries the request id of the call", func(t *testing.T) {
		if evs[4].RequestID != "req-test" {
			t.Fatalf("event %s", evs[4].Raw)
		}
	})
	t.Run("a sign-in's actor is the user signing in, with the source address", func(t *testing.T) {
		if ev := evs[3]; ev.Actor.ID != admin.ID || ev.Actor.Role != identity.RoleAdmin || ev.SourceIP != sourceIP {
			t.Fatalf("event %s", ev.Raw)
		}
		if ev := evs[1]; ev.SourceIP != "192.0.2.10" {
			t.Fatalf("event %s", ev.Raw)
		}
	})
	t.Run("an update lists the changed fields, never the password", func(t *testing.T) {
		changed, _ := evs[5].Details["changed"].([]any)
		var fields []string
		for _, f := range changed {
			fields = append(fields, f.(string))
		}
		if !slices.Equal(fields, []string{"role", "password"}) || evs[5].Details["sessions_ended"] != true {
			t.Fatalf("details %v", evs[5].Details)
		}
	})
	t.Run("no event holds a password, token or hash", func(t *testing.T) {
		sum := sha256.Sum256([]byte(s.Token))
		secrets := []string{password, secondPassword, "a wrong password", s.Token, strings.TrimPrefix(s.Token, "exk_st_"),
			hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]), "argon2", "password_hash"}
		for _, ev := range evs {
			for _, secret := range secrets {
				if strings.Contains(ev.Raw, secret) {
					t.Errorf("event %s holds %q", ev.Action, secret)
				}
			}
		}
	})
}
