// Package daemon runs one Hub service process: it reads the settings, opens
// logs, PostgreSQL (own schema, migrations applied) unless the service keeps
// no data, Redis when asked, and NATS, each as the service's own user; serves
// /metrics, /livez and /readyz on its own port; serves either the service's
// micro endpoints plus its status endpoint (the back-end services) or an
// HTTP(S) server on a port of its own (the gateway); and stops cleanly on
// SIGTERM or SIGINT.
package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// Deps is what a service's domain is wired from.
type Deps struct {
	Config  *config.Config
	Log     *slog.Logger
	NATS    *natsrpc.Client // NATS.Conn() is the connection, for JetStream and subscriptions
	DB      *pgxpool.Pool   // nil when Spec.NoDatabase
	Redis   *redis.Client   // nil unless Spec.UsesRedis
	Metrics *metrics.Registry
	Outbox  outbox.Writer // records audit events in the caller's transaction (Spec.Outbox)
	Started time.Time     // when the process started
}

// Spec describes one service.
type Spec struct {
	Name        string // identity, licensing, runners, audit, gateway
	Description string
	// NoDatabase: the service keeps nothing in PostgreSQL (the gateway), so
	// no pool is opened and /readyz does not check one.
	NoDatabase bool
	Migrations []migrate.File
	UsesRedis  bool
	// Outbox adds the audit outbox table (migration 1000) and runs its relay.
	Outbox bool
	// Setup wires the domain and returns its endpoints. Background work it
	// starts must end when ctx ends.
	Setup func(ctx context.Context, d *Deps) ([]natsrpc.Endpoint, error)
	// MaxInFlight bounds the requests one instance handles at once
	// (natsrpc.Service.MaxInFlight; its default when 0).
	MaxInFlight int
	// HTTP, instead of Setup, makes the service an HTTP(S) server on a port
	// of its own rather than a NATS micro service (no endpoints, no status
	// endpoint).
	HTTP *HTTP
}

// HTTP is a service that serves HTTP(S) on a port of its own. Its metrics
// port answers only once HTTP.Setup has wired it: the supervisor's start-up
// waits for /livez, so the Hub is announced only when the service serves.
type HTTP struct {
	// Listen names the setting of the service's address (for errors) and
	// gives its value. The address is bound right after the metrics port,
	// before any dependency is waited for: a port in use fails start-up at once.
	Listen func(cfg *config.Config) (key, addr string)
	// TLS, called right after Listen, returns the listener's TLS settings,
	// nil to serve plain HTTP. Certificates should come from GetCertificate
	// so that a replaced certificate is served without a restart.
	TLS func(cfg *config.Config) (*tls.Config, error)
	// Setup builds the server once the dependencies are open. Run sets its
	// TLSConfig, serves it until ctx ends, then shuts it down, letting
	// requests in flight finish for up to ShutdownTimeout, before NATS and
	// Redis are closed. Background work it starts must end when ctx ends.
	Setup func(ctx context.Context, d *Deps) (*http.Server, error)
}

// ShutdownTimeout bounds how long a stopping HTTP service waits for the
// requests in flight.
const ShutdownTimeout = 10 * time.Second

// outboxMigration is the version of the outbox table among a service's
// migrations; service-owned files stay below it.
const outboxMigration = 1000

// ExitRefused is the exit status of a service that refuses to run on what it
// found, where starting it again cannot help: a database schema that a newer
// release changed in a way this one cannot run on. The pilot's supervisor
// then stops the whole Hub with the service's line, and the systemd units
// (RestartPreventExitStatus) and the Windows services do not restart it.
const ExitRefused = 78

// Main runs spec as the process's main and exits non-zero with one clear line
// on failure (ExitRefused when starting again cannot help).
func Main(spec Spec) {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := Run(ctx, spec, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekra-%s: %v\n", spec.Name, err)
		stop()
		code := 1
		if newer := (*migrate.NewerSchemaError)(nil); errors.As(err, &newer) {
			code = ExitRefused
		}
		os.Exit(code)
	}
}

// Run is the whole life of the process; it returns when ctx ends.
func Run(ctx context.Context, spec Spec, args, environ []string, stdout io.Writer) error {
	if err := spec.check(); err != nil {
		return err
	}
	cfg, err := settings(spec.Name, args, environ, stdout)
	if err != nil || cfg == nil {
		return err
	}
	log, closer, err := logger.New(cfg, spec.Name)
	if err != nil {
		return err
	}
	defer closer.Close()
	p := &process{spec: spec, cfg: cfg, log: log, started: time.Now()}
	log.Info("starting", "version", buildinfo.Version, "commit", buildinfo.Commit, "home", cfg.Home, "config", cfg.Effective())
	defer p.close()
	return p.run(ctx)
}

// check refuses a spec whose parts contradict each other.
func (s Spec) check() error {
	switch {
	case s.HTTP != nil && (s.Setup != nil || s.HTTP.Listen == nil || s.HTTP.Setup == nil):
		return fmt.Errorf("exekra-%s: an HTTP service has HTTP.Listen and HTTP.Setup, and no Setup", s.Name)
	case s.NoDatabase && (s.Outbox || len(s.Migrations) > 0):
		return fmt.Errorf("exekra-%s: migrations and the outbox need the database", s.Name)
	}
	return nil
}

// settings parses the command line and loads the settings of the install
// dir; nil without an error when --version was asked for (and printed).
func settings(name string, args, environ []string, stdout io.Writer) (*config.Config, error) {
	fs := flag.NewFlagSet("exekra-"+name, flag.ContinueOnError)
	home := fs.String("home", config.DefaultHome(), "install dir (config/, logs/, var/)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.String())
		return nil, nil
	}
	return config.Load(*home, environ)
}

// process is one run of a service: what it opened, closed in reverse order.
type process struct {
	spec    Spec
	cfg     *config.Config
	log     *slog.Logger
	started time.Time

	reg     *metrics.Registry
	metrics *metricsPort
	ln      net.Listener // an HTTP service's own port
	tls     *tls.Config  // its TLS settings; nil: plain HTTP
	nc      *nats.Conn
	deps    *Deps
	closers []func()
}

// run opens everything in order, then serves until ctx ends.
func (p *process) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := p.listen(ctx); err != nil {
		return err
	}
	if err := p.open(ctx); err != nil {
		return err
	}
	if err := p.startOutbox(ctx); err != nil {
		return err
	}
	if p.spec.HTTP != nil {
		return p.serveHTTP(ctx)
	}
	return p.serveMicro(ctx)
}

// onClose has close call fn, before whatever was registered earlier.
func (p *process) onClose(fn func()) { p.closers = append(p.closers, fn) }

// close releases what the process opened, the last opened first.
func (p *process) close() {
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}
