// Command exekra-audit runs the audit service: it appends events from the
// AUDIT stream to the hash-chained log, answers queries and verifies the chain.
package main

import (
	"context"
	"fmt"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/services/audit/internal/checkpoint"
	"github.com/exekra/hub/services/audit/internal/ingest"
	"github.com/exekra/hub/services/audit/internal/natsapi"
	"github.com/exekra/hub/services/audit/internal/postgres"
	"github.com/exekra/hub/services/audit/internal/streamcheck"
	"github.com/nats-io/nats.go/jetstream"
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
		Setup:       setup,
	}
}

// setup works as the writer role, which may only read and append, from here on.
func setup(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
	cfg := d.Config
	pool, err := sqldb.Open(ctx, cfg.DatabaseURL("audit"), "audit", cfg.Database.MaxConns, cfg.Database.ConnectTimeout.D(),
		sqldb.AsRole(postgres.WriterRole))
	if err != nil {
		return nil, fmt.Errorf("open audit writer pool: %w", err)
	}
	context.AfterFunc(ctx, pool.Close)
	store := postgres.NewStore(pool)
	key, err := checkpoint.LoadKey(cfg.Path(cfg.Audit.SigningKeyFile))
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(d.NATS.Conn())
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	in := &ingest.Ingest{JS: js, Log: d.Log, Store: store, Metrics: ingest.NewMetrics(d.Metrics),
		Replicas: cfg.Audit.StreamReplicas, Batch: 500}
	go in.Run(ctx)
	go checkpoint.Run(ctx, store, key, cfg.Audit.CheckpointInterval.D(), d.Log)
	return natsapi.Endpoints(store, streamcheck.JetStream{JS: js, Consumer: ingest.Consumer}), nil
}
