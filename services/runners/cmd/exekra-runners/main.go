// Command exekra-runners runs the runners service: runner registry, machine credentials, heartbeats and job dispatch.
package main

import (
	"context"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/postgres"
)

func main() { daemon.Main(spec()) }

func spec() daemon.Spec {
	migrations, err := postgres.Migrations()
	if err != nil {
		panic(err) // embedded at build time: a broken set is a build defect
	}
	return daemon.Spec{
		Name:        "runners",
		Description: "runner registry, machine credentials, heartbeats and job dispatch",
		Migrations:  migrations,
		UsesRedis:   true,
		Setup: func(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
			return nil, nil
		},
	}
}
