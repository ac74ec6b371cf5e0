// Package access holds the role check every runners domain service makes
// behind the gateway: the gateway checks a route's role first, and the
// service checks it again, so a caller on the bus gains nothing by skipping
// the gateway.
package access

import (
	"context"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
)

// Require refuses (permission_denied) unless a signed-in user with role or a
// higher one asks; what names the action in the message.
func Require(ctx context.Context, role, what string) error {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || !identity.RoleAtLeast(a.Role, role) {
		return errs.Ef(errs.PermissionDenied, "%s needs a signed-in user with the %s role or higher", what, role)
	}
	return nil
}
