package access_test

import (
	"context"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/access"
)

func TestRequire(t *testing.T) {
	for _, tc := range []struct {
		name  string
		actor caller.Actor
		ok    bool
	}{
		{"a developer for developer work", caller.Actor{Type: audit.ActorUser, ID: "u1", Role: identity.RoleDeveloper}, true},
		{"an admin for developer work", caller.Actor{Type: audit.ActorUser, ID: "u2", Role: identity.RoleAdmin}, true},
		{"an operator for developer work", caller.Actor{Type: audit.ActorUser, ID: "u3", Role: identity.RoleOperator}, false},
		{"a runner claiming the admin role", caller.Actor{Type: audit.ActorRunner, ID: "r1", Role: identity.RoleAdmin}, false},
		{"nobody", caller.Actor{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := access.Require(caller.With(context.Background(), caller.Info{Actor: tc.actor}), identity.RoleDeveloper, "editing things")
			switch {
			case tc.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tc.ok && !errs.Is(err, errs.PermissionDenied):
				t.Fatalf("want permission_denied, got %v", err)
			}
		})
	}
}
