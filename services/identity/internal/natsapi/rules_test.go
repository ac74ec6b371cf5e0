package natsapi_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
)

func update(h *harness, admin identity.User, req identity.UpdateUserRequest) (identity.User, error) {
	return call[identity.User](actorOf(admin), h, identity.SubjectUsersUpdate, req)
}

func remove(h *harness, admin identity.User, id string) error {
	_, err := call[identity.DeleteUserResponse](actorOf(admin), h, identity.SubjectUsersDelete, identity.DeleteUserRequest{ID: id})
	return err
}

func TestLastAdmin(t *testing.T) {
	h := newHarness(t, fastParams)
	ada := h.bootstrap(t)
	t.Run("the only admin cannot be demoted", func(t *testing.T) {
		_, err := update(h, ada, identity.UpdateUserRequest{ID: ada.ID, Role: new(identity.RoleDeveloper)})
		wantKind(t, err, errs.LastAdmin)
	})
	t.Run("the only admin cannot be disabled", func(t *testing.T) {
		_, err := update(h, ada, identity.UpdateUserRequest{ID: ada.ID, Disabled: new(true)})
		wantKind(t, err, errs.LastAdmin)
	})
	t.Run("the only admin cannot be deleted", func(t *testing.T) {
		wantKind(t, remove(h, ada, ada.ID), errs.LastAdmin)
	})
	t.Run("refused changes leave no audit event", func(t *testing.T) {
		if evs := h.events(t); len(evs) != 1 || evs[0].Action != "setup.bootstrap" {
			t.Fatalf("%d events, want only the bootstrap", len(evs))
		}
	})
	bob := h.createUser(t, ada, "bob@x.test", identity.RoleAdmin)
	t.Run("a disabled admin does not count as active", func(t *testing.T) {
		if _, err := update(h, ada, identity.UpdateUserRequest{ID: bob.ID, Disabled: new(true)}); err != nil {
			t.Fatal(err)
		}
		_, err := update(h, ada, identity.UpdateUserRequest{ID: ada.ID, Role: new(identity.RoleOperator)})
		wantKind(t, err, errs.LastAdmin)
	})
	t.Run("with a second active admin the first may be demoted", func(t *testing.T) {
		if _, err := update(h, ada, identity.UpdateUserRequest{ID: bob.ID, Disabled: new(false)}); err != nil {
			t.Fatal(err)
		}
		u, err := update(h, bob, identity.UpdateUserRequest{ID: ada.ID, Role: new(identity.RoleOperator)})
		if err != nil || u.Role != identity.RoleOperator {
			t.Fatalf("demote = %+v, %v", u, err)
		}
	})
	t.Run("then the remaining admin cannot be deleted", func(t *testing.T) {
		wantKind(t, remove(h, bob, bob.ID), errs.LastAdmin)
	})
}

func TestLastAdminUnderConcurrentDemotion(t *testing.T) {
	h := newHarness(t, fastParams)
	ada := h.bootstrap(t)
	bob := h.createUser(t, ada, "bob@x.test", identity.RoleAdmin)
	for round := range 10 {
		t.Run(fmt.Sprintf("round %d: two admins demoting each other at once leave exactly one active admin", round), func(t *testing.T) {
			if _, err := h.pool.Exec(t.Context(), "UPDATE users SET role = 'ADMIN', disabled = false"); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var errA, errB error
			wg.Go(func() {
				_, errA = update(h, ada, identity.UpdateUserRequest{ID: bob.ID, Role: new(identity.RoleOperator)})
			})
			wg.Go(func() { _, errB = update(h, bob, identity.UpdateUserRequest{ID: ada.ID, Disabled: new(true)}) })
			wg.Wait()
			if (errA == nil) == (errB == nil) {
				t.Fatalf("errors %v and %v: want exactly one last_admin", errA, errB)
			}
			for _, err := range []error{errA, errB} {
				if err != nil {
					wantKind(t, err, errs.LastAdmin)
				}
			}
			var active int
			if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM users WHERE role = 'ADMIN' AND NOT disabled").Scan(&active); err != nil || active != 1 {
				t.Fatalf("active admins = %d, %v", active, err)
			}
		})
	}
}

func TestChangesEndSessions(t *testing.T) {
	h := newHarness(t, fastParams)
	admin := h.bootstrap(t)
	newPassword := "a brand new passphrase"
	tests := []struct {
		name    string
		change  func(id string) error
		ends    bool
		relogin bool
	}{
		{"a name change keeps the sessions", func(id string) error {
			_, err := update(h, admin, identity.UpdateUserRequest{ID: id, Name: new("Renamed")})
			return err
		}, false, true},
		{"a role change ends the sessions", func(id string) error {
			_, err := update(h, admin, identity.UpdateUserRequest{ID: id, Role: new(identity.RoleDeveloper)})
			return err
		}, true, true},
		{"a password change ends the sessions", func(id string) error {
			_, err := update(h, admin, identity.UpdateUserRequest{ID: id, Password: &newPassword})
			return err
		}, true, false},
		{"disabling ends the sessions", func(id string) error {
			_, err := update(h, admin, identity.UpdateUserRequest{ID: id, Disabled: new(true)})
			return err
		}, true, false},
		{"deleting ends the sessions", func(id string) error { return remove(h, admin, id) }, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := h.createUser(t, admin, string(rune('a'+i))+"@sessions.test", identity.RoleOperator)
			s1, s2 := h.login(t, u.Email), h.login(t, u.Email)
			if err := tt.change(u.ID); err != nil {
				t.Fatal(err)
			}
			for _, s := range []identity.Session{s1, s2} {
				_, err := h.authenticate(s.Token)
				if tt.ends {
					wantKind(t, err, errs.Unauthenticated)
				} else if err != nil {
					t.Fatalf("authenticate after the change: %v", err)
				}
			}
			if tt.relogin {
				if _, err := h.authenticate(h.login(t, u.Email).Token); err != nil {
					t.Fatalf("a new session after the change: %v", err)
				}
			}
		})
	}
	t.Run("after a password change only the new password signs in", func(t *testing.T) {
		u := h.createUser(t, admin, "pw@sessions.test", identity.RoleOperator)
		if _, err := update(h, admin, identity.UpdateUserRequest{ID: u.ID, Password: &newPassword}); err != nil {
			t.Fatal(err)
		}
		_, err := call[identity.Session](anonymous(), h, identity.SubjectLogin, identity.LoginRequest{Email: u.Email, Password: password})
		wantKind(t, err, errs.InvalidCredentials)
		if _, err := call[identity.Session](anonymous(), h, identity.SubjectLogin, identity.LoginRequest{Email: u.Email, Password: newPassword}); err != nil {
			t.Fatal(err)
		}
	})
}
