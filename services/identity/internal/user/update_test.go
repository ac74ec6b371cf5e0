package user

import (
	"slices"
	"testing"

	"github.com/exekra/hub/libs/errs"
)

func ptr[T any](v T) *T { return &v }

func TestApplyUpdate(t *testing.T) {
	admin := User{ID: "a", Email: "a@x.test", Name: "A", Role: RoleAdmin}
	operator := User{ID: "o", Email: "o@x.test", Name: "O", Role: RoleOperator}
	tests := []struct {
		name       string
		user       User
		upd        Update
		newHash    string
		admins     int
		wantErr    errs.Kind
		wantEnd    bool
		wantFields []string
	}{
		{"a new name ends no session", operator, Update{Name: ptr("Olga")}, "", 1, "", false, []string{"name"}},
		{"the same name changes nothing", operator, Update{Name: ptr("O")}, "", 1, "", false, []string{}},
		{"a role change ends sessions", operator, Update{Role: ptr(RoleDeveloper)}, "", 1, "", true, []string{"role"}},
		{"disabling ends sessions", operator, Update{Disabled: ptr(true)}, "", 1, "", true, []string{"disabled"}},
		{"enabling ends no session", User{Role: RoleOperator, Disabled: true}, Update{Disabled: ptr(false)}, "", 1, "", false, []string{"disabled"}},
		{"a new password ends sessions", operator, Update{}, "$argon2id$new", 1, "", true, []string{"password"}},
		{"the last active admin cannot be demoted", admin, Update{Role: ptr(RoleDeveloper)}, "", 1, errs.LastAdmin, false, nil},
		{"the last active admin cannot be disabled", admin, Update{Disabled: ptr(true)}, "", 1, errs.LastAdmin, false, nil},
		{"the last active admin may change its name", admin, Update{Name: ptr("Ada")}, "", 1, "", false, []string{"name"}},
		{"an admin among two may be demoted", admin, Update{Role: ptr(RoleOperator)}, "", 2, "", true, []string{"role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.user
			change, err := applyUpdate(&u, tt.upd, tt.newHash, tt.admins)
			if tt.wantErr != "" {
				if !errs.Is(err, tt.wantErr) {
					t.Fatalf("applyUpdate = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := change.Event.Details["changed"].([]string)
			if change.EndSessions != tt.wantEnd || !slices.Equal(got, tt.wantFields) {
				t.Fatalf("change = end %v, fields %v; want %v, %v", change.EndSessions, got, tt.wantEnd, tt.wantFields)
			}
			if change.Event.Action != "user.update" || change.Event.Target.ID != tt.user.ID {
				t.Fatalf("event = %+v", change.Event)
			}
		})
	}
}
