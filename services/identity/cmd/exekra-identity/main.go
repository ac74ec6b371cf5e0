// Command exekra-identity runs the identity service: users, sessions, roles and the first-admin bootstrap.
package main

import (
	"context"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/postgres"
)

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
		UsesRedis:   false,
		Setup: func(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
			return natsapi.Endpoints(postgres.NewStore(d.DB)), nil
		},
	}
}
