// Command exekra-licensing runs the licensing service: license activation, limits and validation with the vendor portal.
package main

import (
	"context"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/licensing/internal/natsapi"
	"github.com/exekra/hub/services/licensing/internal/postgres"
)

func main() { daemon.Main(spec()) }

func spec() daemon.Spec {
	migrations, err := postgres.Migrations()
	if err != nil {
		panic(err) // embedded at build time: a broken set is a build defect
	}
	return daemon.Spec{
		Name:        "licensing",
		Description: "license activation, limits and validation with the vendor portal",
		Migrations:  migrations,
		UsesRedis:   false,
		Setup: func(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
			return natsapi.Endpoints(postgres.NewStore(d.DB)), nil
		},
	}
}
