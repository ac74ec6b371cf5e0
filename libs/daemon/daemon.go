// Package daemon runs one back-end service process: it reads the settings,
// opens logs, PostgreSQL (own schema, migrations applied), Redis when asked,
// and NATS, serves the service's micro endpoints plus its status endpoint,
// serves /metrics, /livez and /readyz on its own port, and stops cleanly on
// SIGTERM or SIGINT.
package daemon

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/health"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// Deps is what a service's domain is wired from.
type Deps struct {
	Config  *config.Config
	Log     *slog.Logger
	NATS    *natsrpc.Client
	DB      *pgxpool.Pool
	Redis   *redis.Client // nil unless Spec.UsesRedis
	Metrics *metrics.Registry
	Outbox  outbox.Writer // records audit events in the caller's transaction (Spec.Outbox)
}

// Spec describes one service.
type Spec struct {
	Name        string // identity, licensing, runners, audit
	Description string
	Migrations  []migrate.File
	UsesRedis   bool
	// Outbox adds the audit outbox table (migration 1000) and runs its relay.
	Outbox bool
	// Setup wires the domain and returns its endpoints. Background work it
	// starts must end when ctx ends.
	Setup func(ctx context.Context, d *Deps) ([]natsrpc.Endpoint, error)
	// MaxInFlight bounds the requests one instance handles at once
	// (natsrpc.Service.MaxInFlight; its default when 0).
	MaxInFlight int
}

// outboxMigration is the version of the outbox table among a service's
// migrations; service-owned files stay below it.
const outboxMigration = 1000

// Main runs spec as the process's main and exits non-zero with one clear line on failure.
func Main(spec Spec) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, spec, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekra-%s: %v\n", spec.Name, err)
		stop()
		os.Exit(1)
	}
}

// Run is the whole life of the process; it returns when ctx ends.
func Run(ctx context.Context, spec Spec, args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekra-"+spec.Name, flag.ContinueOnError)
	home := fs.String("home", config.DefaultHome(), "install dir (config/, logs/, var/)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.Version)
		return nil
	}
	cfg, err := config.Load(*home, environ)
	if err != nil {
		return err
	}
	log, closer, err := logger.New(cfg, spec.Name)
	if err != nil {
		return err
	}
	defer closer.Close()
	started := time.Now()
	log.Info("starting", "version", buildinfo.Version, "home", cfg.Home, "config", cfg.Effective())

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	reg := metrics.New(spec.Name)
	key, addr := cfg.MetricsListen(spec.Name)
	msrv, err := metrics.Listen(key, addr, reg)
	if err != nil {
		return err
	}
	// Serve /metrics from now on, and free its port on every way out of Run.
	metricsDone := make(chan struct{})
	go func() {
		defer close(metricsDone)
		msrv.Serve(runCtx, log)
	}()
	defer func() {
		cancel()
		<-metricsDone
	}()
	wait := cfg.Database.ConnectTimeout.D()
	pool, err := sqldb.Open(ctx, cfg.DatabaseURL(spec.Name), spec.Name, cfg.Database.MaxConns, wait)
	if err != nil {
		return err
	}
	defer pool.Close()
	migrations := spec.Migrations
	if spec.Outbox {
		migrations = append(migrations[:len(migrations):len(migrations)], outbox.Migration(outboxMigration))
	}
	n, err := migrate.Apply(ctx, pool, spec.Name, migrations)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "schema", spec.Name, "new", n)

	var rdb *redis.Client
	if spec.UsesRedis {
		if rdb, err = redisdb.Open(ctx, cfg.Redis.URL, redisdb.User(spec.Name), cfg.Path(cfg.Hub.CredentialsDir), wait); err != nil {
			return err
		}
		defer rdb.Close()
	}
	nc, err := natsrpc.Connect(natsrpc.DialOf(cfg, busauth.Principal(spec.Name)), log)
	if err != nil {
		return err
	}
	defer nc.Close()
	client := natsrpc.NewClient(nc, reg)

	deps := &Deps{Config: cfg, Log: log, NATS: client, DB: pool, Redis: rdb, Metrics: reg, Outbox: outbox.Writer{Service: spec.Name}}
	if spec.Outbox {
		relay, err := outbox.NewRelay(pool, nc, client, spec.Name, log)
		if err != nil {
			return err
		}
		go relay.Run(runCtx)
	}
	var endpoints []natsrpc.Endpoint
	if spec.Setup != nil {
		if endpoints, err = spec.Setup(runCtx, deps); err != nil {
			return fmt.Errorf("set up %s: %w", spec.Name, err)
		}
	}
	for i := range endpoints {
		endpoints[i].Handle = answerUnavailable(endpoints[i].Handle)
	}
	instance := uuid.NewString()
	endpoints = append(endpoints, natsrpc.Handle(health.StatusSubject(spec.Name),
		func(ctx context.Context, _ health.StatusRequest) (health.Status, error) {
			return status(ctx, deps, spec.Name, instance, started), nil
		}))

	msrv.SetReadiness(readiness(deps, nc)...)
	err = natsrpc.Serve(runCtx, nc, log, reg, natsrpc.Service{
		Name: "exekra-" + spec.Name, Version: semver(buildinfo.Version), Description: spec.Description, Endpoints: endpoints,
		MaxInFlight: spec.MaxInFlight,
	})
	log.Info("stopping")
	if derr := nc.Drain(); derr != nil {
		log.Warn("drain NATS", "err", derr)
	}
	return err
}

// answerUnavailable makes a lost database (a PostgreSQL restart or failover)
// an unavailable answer, which callers retry, rather than an internal error.
func answerUnavailable(handle func(context.Context, []byte) (any, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, data []byte) (any, error) {
		resp, err := handle(ctx, data)
		return resp, sqldb.Unavailable(err)
	}
}

// readiness is what /readyz checks: the service's critical dependencies,
// NATS, its PostgreSQL and, when it uses it, Redis.
func readiness(d *Deps, nc *nats.Conn) []metrics.Check {
	checks := []metrics.Check{
		{Name: "nats", Probe: natsrpc.Connected(nc)},
		{Name: "database", Probe: func(ctx context.Context) error {
			_, err := sqldb.Ping(ctx, d.DB)
			return err
		}},
	}
	if d.Redis != nil {
		checks = append(checks, metrics.Check{Name: "redis", Probe: func(ctx context.Context) error { return redisdb.Ping(ctx, d.Redis) }})
	}
	return checks
}

// status measures the service's own dependencies.
func status(ctx context.Context, d *Deps, name, instance string, started time.Time) health.Status {
	st := health.Status{Service: name, Version: buildinfo.Version, Instance: instance, UptimeSeconds: time.Since(started).Seconds()}
	st.Database = probe(func() (time.Duration, error) { return sqldb.Ping(ctx, d.DB) })
	if d.Redis != nil {
		r := probe(func() (time.Duration, error) {
			start := time.Now()
			err := redisdb.Ping(ctx, d.Redis)
			return time.Since(start), err
		})
		st.Redis = &r
	}
	return st
}

func probe(fn func() (time.Duration, error)) health.Dependency {
	took, err := fn()
	if err != nil {
		return health.Dependency{Status: health.Down, Error: "unreachable"}
	}
	return health.Dependency{Status: health.Up, LatencyMS: float64(took.Microseconds()) / 1000}
}

// semver gives micro the x.y.z it requires.
func semver(v string) string {
	var a, b, c int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c); err != nil {
		return "0.0.0"
	}
	return fmt.Sprintf("%d.%d.%d", a, b, c)
}
