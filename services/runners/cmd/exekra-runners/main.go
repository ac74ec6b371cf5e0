// Command exekra-runners runs the runners service: runner registry, machine credentials, heartbeats and job dispatch.
package main

import (
	"context"
	"time"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/postgres"
	"github.com/exekra/hub/services/runners/internal/prom"
	"github.com/exekra/hub/services/runners/internal/redisstate"
	"github.com/exekra/hub/services/runners/internal/runner"
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
		Outbox:      true,
		Setup:       setup,
	}
}

// setup wires the registry to PostgreSQL (with the audit outbox), Redis
// (credential cache, presence, throttle) and NATS (the licensing service),
// and starts the presence flusher and the runner census.
func setup(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
	meter := prom.New(d.Metrics)
	svc, err := runner.NewService(runner.Deps{
		Store:     postgres.NewStore(d.DB, d.Outbox),
		Cache:     redisstate.NewCache(d.Redis),
		Presences: redisstate.NewPresences(d.Redis),
		Limiter:   tokenbucket.New(d.Redis),
		License:   natsapi.License{Client: d.NATS},
		Meter:     meter,
		Log:       d.Log,
		Now:       time.Now,
	})
	if err != nil {
		return nil, err
	}
	go svc.RunFlusher(ctx, runner.FlushInterval)
	go meter.RunCensus(ctx, svc, prom.CensusInterval, d.Log)
	return natsapi.Endpoints(svc), nil
}
