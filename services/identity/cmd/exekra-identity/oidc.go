package main

import (
	"context"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/oidclogin"
	"github.com/exekra/hub/services/identity/internal/postgres"
	"github.com/exekra/hub/services/identity/internal/user"
)

// oidcEndpoints starts OpenID Connect sign-in when identity.oidc.issuer is
// set (the provider is discovered in the background: an unreachable one
// leaves the rest of the service working) and returns its operations.
func oidcEndpoints(ctx context.Context, d *daemon.Deps, svc *user.Service) ([]natsrpc.Endpoint, error) {
	c := d.Config.Identity.OIDC
	if c.Issuer == "" {
		return natsapi.OIDCEndpoints(nil), nil
	}
	l, err := oidclogin.New(oidclogin.Deps{Config: c, CAFile: d.Config.Path(c.CAFile),
		States: postgres.NewStore(d.DB, d.Outbox), Users: svc, Log: d.Log.With("component", "oidc")})
	if err != nil {
		return nil, err
	}
	go l.Run(ctx, sweepInterval)
	return natsapi.OIDCEndpoints(l), nil
}
