// Command exekra-runners runs the runners service: runner registry, machine credentials, heartbeats and job dispatch.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/runners/internal/asset"
	"github.com/exekra/hub/services/runners/internal/assetkey"
	"github.com/exekra/hub/services/runners/internal/history"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/packages"
	"github.com/exekra/hub/services/runners/internal/postgres"
	"github.com/exekra/hub/services/runners/internal/prom"
	"github.com/exekra/hub/services/runners/internal/redisq"
	"github.com/exekra/hub/services/runners/internal/redisstate"
	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/exekra/hub/services/runners/internal/schedule"
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
		MaxInFlight: maxInFlight,
	}
}

// maxInFlight is how many requests one runners instance takes at once. Every
// connected runner holds one with its long-poll claim (up to a minute), so it
// is sized for 10,000+ runners per instance beside their heartbeats and the
// API; a waiting claim costs a goroutine and a few KiB.
const maxInFlight = 32768

// setup wires the registry and the jobs to PostgreSQL (with the audit
// outbox), Redis (credential cache, presence, throttle, job queues) and NATS
// (the licensing service), and starts the presence flusher, the runner
// census, the job queue watcher, the reaper/reconcile loop, the history
// sampler and the schedules' fire loop (the schedules see the jobs through
// natsapi.ScheduleJobs). Neither domain
// knows the other: the jobs see the registry through natsapi.Registry, and
// the NATS handlers call the registry, then the jobs (a heartbeat renews
// leases and carries cancellations; a claim is the registry's runner's).
func setup(ctx context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
	meter := prom.New(d.Metrics)
	license := natsapi.NewLicense(d.NATS, time.Now)
	svc, err := runner.NewService(runner.Deps{
		Store:     postgres.NewStore(d.DB, d.Outbox),
		Cache:     redisstate.NewCache(d.Redis),
		Presences: runner.CachedPresences(redisstate.NewPresences(d.Redis), runner.PresenceTTL),
		Limiter:   tokenbucket.New(d.Redis),
		License:   license,
		Meter:     meter,
		Log:       d.Log,
		Now:       time.Now,
	})
	if err != nil {
		return nil, err
	}
	assets, err := setupAssets(ctx, d, svc)
	if err != nil {
		return nil, err
	}
	jobs, err := job.NewService(job.Deps{
		Store:   postgres.NewStore(d.DB, d.Outbox).Jobs(),
		Queue:   redisq.New(d.Redis, contract.Environments),
		Runners: natsapi.Registry(svc),
		License: license,
		Assets:  assets,
		Meter:   prom.NewJobs(d.Metrics),
		Log:     d.Log,
		Now:     time.Now,
	})
	if err != nil {
		return nil, err
	}
	go svc.RunFlusher(ctx, runner.FlushInterval)
	go meter.RunCensus(ctx, svc, prom.CensusInterval, d.Log)
	go jobs.RunWatcher(ctx)
	go jobs.RunMaintenance(ctx)
	hist, err := history.NewService(postgres.NewStore(d.DB, d.Outbox).History(), svc, d.Log, time.Now)
	if err != nil {
		return nil, err
	}
	go hist.RunSampler(ctx)
	pkgs, err := packages.NewService(postgres.NewStore(d.DB, d.Outbox).Packages(), svc, time.Now)
	if err != nil {
		return nil, err
	}
	schedules := postgres.NewStore(d.DB, d.Outbox).Schedules()
	scheduleMeter := prom.NewSchedules(d.Metrics)
	sched, err := schedule.NewService(schedule.Deps{Store: schedules, Jobs: natsapi.ScheduleJobs(jobs), Meter: scheduleMeter,
		Log: d.Log, Now: time.Now, MisfireGrace: d.Config.Runners.ScheduleMisfireGrace.D()})
	if err != nil {
		return nil, err
	}
	go sched.Run(ctx)
	go scheduleMeter.RunStates(ctx, schedules, prom.SchedulesInterval, d.Log)
	// Claims come to any instance, or to this one by name while it
	// announces itself (a gateway moves them on within seconds of its end).
	instance := rand.Text()
	go natsapi.Announce(ctx, d.NATS.Conn(), instance, d.Log)
	eps := append(natsapi.Endpoints(svc, jobs), natsapi.JobEndpoints(svc, jobs)...)
	eps = append(eps, natsapi.InstanceEndpoints(instance, svc, jobs)...)
	eps = append(eps, natsapi.HistoryEndpoints(hist)...)
	eps = append(eps, natsapi.ScheduleEndpoints(sched)...)
	eps = append(eps, natsapi.AssetEndpoints(assets, svc)...)
	return append(eps, natsapi.PackageEndpoints(pkgs)...), nil
}

// setupAssets loads the asset key file (runners.asset_key_file, relative to
// the install dir), starts watching it (reloads, re-wrapping after a new
// primary key) and builds the assets domain on it. A missing key file while
// sealed values exist does not stop the service: assets are unavailable
// until the file is put back, and the holder logs why.
func setupAssets(ctx context.Context, d *daemon.Deps, runners *runner.Service) (*asset.Service, error) {
	keys, err := assetkey.Load(ctx, d.DB, d.Config.Path(d.Config.Runners.AssetKeyFile), d.Outbox, d.Log)
	if err != nil {
		return nil, fmt.Errorf("asset key file: %w", err)
	}
	if err := keys.RegisterMetrics(d.Metrics); err != nil {
		return nil, err
	}
	go keys.Run(ctx)
	return asset.NewService(asset.Deps{
		Store:   postgres.NewStore(d.DB, d.Outbox).Assets(),
		Keys:    keys,
		Runners: natsapi.AssetRunners(runners),
		Meter:   prom.NewAssets(d.Metrics),
		Log:     d.Log,
		Now:     time.Now,
	})
}
