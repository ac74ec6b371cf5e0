// Command exekra-identity runs the identity service: users, sessions, roles and the first-admin bootstrap.
package main

import (
	"context"
	"time"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/postgres"
	"github.com/exekra/hub/services/identity/internal/user"
)

// sweepInterval is how often expired sessions are deleted.
const sweepInterval = 10 * time.Minute

func main() { daemon.Main(spec()) }

func spec() daemon.Spec {
	migrations, err := postgres.Migrations()
	if err != nil {
		panic(err) // embedded at build time: a broken set is a build defect
	}
	return daemon.Spec{
		Name:        "identity",
		Description: "users, sessions, roles and the first-admin bootstrap",
		Migrations:  migrations,
		UsesRedis:   true,
		Outbox:      true,
		Setup:       setup,
	}
}

// setup wires the domain to PostgreSQL (with the audit outbox), Redis (the
// sign-in throttle) and NATS (the licensing service).
func setup(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
	dir, err := directoryOf(d)
	if err != nil {
		return nil, err
	}
	store := postgres.NewStore(d.DB, d.Outbox)
	svc, err := user.NewService(ctx, user.Deps{
		Store:     store,
		Directory: dir,
		License:   natsapi.License{Client: d.NATS},
		Limiter:   tokenbucket.New(d.Redis),
		Hasher:    user.NewHasher(user.DefaultParams, 0),
		Log:       d.Log,
		Now:       time.Now,
		Sessions:  natsapi.Announcer{NC: d.NATS.Conn(), Log: d.Log},
	})
	if err != nil {
		return nil, err
	}
	go svc.SweepSessions(ctx, sweepInterval)
	tokens, err := apiTokens(d)
	if err != nil {
		return nil, err
	}
	if dir != nil {
		go svc.RecheckDirectory(ctx, store, d.Config.Identity.LDAP.Recheck.D())
	}
	providers := natsapi.ProvidersEndpoint(natsapi.ProvidersOf(d.Config.Identity))
	oidc, err := oidcEndpoints(ctx, d, svc)
	if err != nil {
		return nil, err
	}
	return append(append(natsapi.Endpoints(svc, tokens), providers), oidc...), nil
}
