// Command exekra-audit runs the audit service: the append-only, hash-chained audit log.
package main

import (
	"context"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/audit/internal/postgres"
)

func main() { daemon.Main(spec()) }

func spec() daemon.Spec {
	migrations, err := postgres.Migrations()
	if err != nil {
		panic(err) // embedded at build time: a broken set is a build defect
	}
	return daemon.Spec{
		Name:        "audit",
		Description: "the append-only, hash-chained audit log",
		Migrations:  migrations,
		UsesRedis:   false,
		Setup: func(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
			return nil, nil
		},
	}
}
