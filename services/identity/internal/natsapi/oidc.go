package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/identity/internal/oidclogin"
)

// errOIDCOff answers OpenID Connect calls when identity.oidc.issuer is empty.
var errOIDCOff = errs.E(errs.NotFound, "sign-in with OpenID Connect is not set up on this Hub")

// OIDCEndpoints are the OpenID Connect sign-in operations; anyone may call
// them (the user is not signed in yet). A nil l answers that OpenID Connect
// is off.
func OIDCEndpoints(l *oidclogin.Login) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectOIDCBegin, func(ctx context.Context, _ contract.OIDCBeginRequest) (contract.OIDCBegin, error) {
			if l == nil {
				return contract.OIDCBegin{}, errOIDCOff
			}
			return l.Begin(ctx)
		}),
		natsrpc.Handle(contract.SubjectOIDCComplete, func(ctx context.Context, req contract.OIDCCompleteRequest) (contract.Session, error) {
			if l == nil {
				return contract.Session{}, errOIDCOff
			}
			in, err := l.Complete(ctx, req)
			if err != nil {
				return contract.Session{}, err
			}
			return contract.Session{Token: in.Token, ExpiresAt: in.ExpiresAt, User: toUser(in.User)}, nil
		}),
	}
}
