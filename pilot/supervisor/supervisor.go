// Package supervisor is the pilot's exekra-hub: it prepares the install dir,
// checks programs and ports, runs the embedded NATS server, the bundled
// redis-server and the private PostgreSQL, then the five services as child
// processes; it restarts a crashed child with backoff and stops everything in
// reverse order when its context ends.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/pilot/natsembed"
)

// Options are what main hands the supervisor.
type Options struct {
	Home       string
	Environ    []string // os.Environ form; the source of every child's environment
	Stdout     io.Writer
	Executable func() (string, error) // locates exekra-hub; default os.Executable
}

// hub is one run of the supervisor.
type hub struct {
	cfg      *config.Config
	log      *slog.Logger
	environ  []string
	stats    hubMetrics
	started  time.Time
	stops    []func() // undo stack: what started, in order
	children []*Child
	nats     *natsembed.Server // nil when nats.url names an external one
	refused  chan error        // a child that refuses to run (RefusedError): the Hub stops
}

// Run supervises until ctx ends, then stops every child; it returns an error
// when start-up fails or a service refuses to run (*RefusedError).
func Run(ctx context.Context, o Options) error {
	started := time.Now()
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return fmt.Errorf("install dir %q: %w", o.Home, err)
	}
	wrote, err := EnsureHome(home)
	if err != nil {
		return err
	}
	cfg, err := config.Load(home, o.Environ)
	if err != nil {
		return err
	}
	log, closer, err := logger.New(cfg, "hub")
	if err != nil {
		return err
	}
	defer closer.Close()
	log.Info("starting", "version", buildinfo.Version, "commit", buildinfo.Commit, "home", cfg.Home, "pid", os.Getpid(), "config", cfg.Effective())
	if wrote {
		log.Info("first start: wrote the default settings", "file", filepath.Join(home, config.FileName))
	}
	h := &hub{cfg: cfg, log: log, environ: o.Environ, started: started, refused: make(chan error, 1)}
	if err := h.run(ctx, o); err != nil {
		log.Error("stopped on an error", "err", err)
		return err
	}
	log.Info("stopped")
	return nil
}

func (h *hub) run(ctx context.Context, o Options) error {
	if o.Executable == nil {
		o.Executable = os.Executable
	}
	p, err := preflight(h.cfg, h.environ, o.Executable)
	if err != nil {
		return err
	}
	tokenFile := h.cfg.Path(h.cfg.Metrics.TokenFile)
	created, err := ensureMetricsToken(tokenFile)
	if err != nil {
		return err
	}
	if created {
		h.log.Info("created the metrics token: /metrics and pprof of every process need it as a bearer token", "file", tokenFile)
	}
	reg := metrics.New("hub")
	h.stats = newHubMetrics(reg)
	msrv, err := metrics.Listen("supervisor.metrics_listen", h.cfg.Supervisor.MetricsListen, reg, tokenFile)
	if err != nil {
		return err
	}
	mctx, stopMetrics := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan struct{})
	go func() { msrv.Serve(mctx, h.log); close(served) }()
	defer func() {
		h.stopAll() // children first, while their metrics are still served
		stopMetrics()
		<-served
	}()
	if err := bindChildrenToSupervisor(); err != nil {
		h.log.Warn("children would outlive the supervisor should it end without stopping them", "err", err)
	}
	if err := h.startAll(ctx, p); err != nil {
		if ctx.Err() != nil {
			h.log.Info("stop requested during start-up")
			return nil
		}
		return err
	}
	msrv.SetReadiness(h.readiness()...)
	if err := h.settle(ctx, settleTimeout); err != nil {
		return err
	}
	h.announce(o.Stdout, time.Since(h.started))
	select {
	case <-ctx.Done():
		h.log.Info("stop requested: stopping the children in reverse start order")
		return nil
	case err := <-h.refused:
		h.log.Error("a service refuses to run: stopping the Hub", "err", err)
		return err
	}
}

// settleTimeout bounds how long the Hub waits, once every child runs, for
// all of them to be ready before it announces itself.
const settleTimeout = 15 * time.Second

// settle waits until every child answers its readiness check, so that the
// Hub is announced running only once it serves; a service that refuses to
// run meanwhile (it passed its start-up probe, then found a schema it cannot
// run on) ends the start with its line. A child still not ready after
// timeout is left to /readyz: the Hub is announced, as it may yet come.
func (h *hub) settle(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ready := true
		for _, c := range h.children {
			if c.Check(ctx) != nil {
				ready = false
				break
			}
		}
		if ready || time.Now().After(deadline) {
			break
		}
		select {
		case err := <-h.refused:
			return err
		case <-ctx.Done():
			return nil
		case <-time.After(probeEvery):
		}
	}
	select {
	case err := <-h.refused:
		return err
	default:
		return nil
	}
}

// startAll starts NATS, Redis, PostgreSQL and the services, each ready
// before the next begins, and records how to stop each.
func (h *hub) startAll(ctx context.Context, p *plan) error {
	natsURL, err := h.startNATS()
	if err != nil {
		return err
	}
	// Children log to their own rotated files; their stdout would only repeat
	// those lines into logs/service-<name>.log, which keeps stderr (crashes).
	overrides := map[string]string{config.EnvName("nats.url"): natsURL, config.EnvName("log.stdout"): "false"}
	if p.redisServer != "" {
		url, err := h.startRedis(ctx, p.redisServer)
		if err != nil {
			return err
		}
		overrides[config.EnvName("redis.url")] = url
	}
	if p.postgres != nil {
		url, err := h.startPostgres(ctx, *p.postgres)
		if err != nil {
			return err
		}
		overrides[config.EnvName("database.url")] = url
	}
	return h.startServices(ctx, p.services, overrides)
}

// readiness is what the supervisor's /readyz checks: the embedded NATS
// server, and every child answering its own probe (PostgreSQL and Redis
// answer, each service's /readyz is 200): the pilot as a whole is ready.
func (h *hub) readiness() []metrics.Check {
	var checks []metrics.Check
	if h.nats != nil {
		checks = append(checks, metrics.Check{Name: "nats", Probe: func(context.Context) error {
			if !h.nats.Running() {
				return errors.New("embedded NATS is not running")
			}
			return nil
		}})
	}
	for _, c := range h.children {
		checks = append(checks, metrics.Check{Name: c.Name(), Probe: c.Check})
	}
	return checks
}

// stopAll undoes the start, last started first.
func (h *hub) stopAll() {
	for i := len(h.stops) - 1; i >= 0; i-- {
		h.stops[i]()
	}
	h.stops = nil
}

// startChild starts a supervised child and waits until it is ready.
func (h *hub) startChild(ctx context.Context, spec Spec, timeout time.Duration) (*Child, error) {
	c := NewChild(spec, h.log, h.stats.child(spec.Name))
	c.onRefusal = func(err error) {
		select {
		case h.refused <- err:
		default: // the Hub is stopping on an earlier one
		}
	}
	if err := c.Start(); err != nil {
		return nil, err
	}
	h.stops = append(h.stops, func() { c.Stop(h.cfg.Supervisor.StopTimeout.D()) })
	h.children = append(h.children, c)
	if timeout <= 0 {
		return c, nil
	}
	return c, c.WaitReady(ctx, timeout)
}

// logFile is where a child's stdout and stderr go: logs/service-<child>.log,
// except the bundled Redis's, which go to runtime/redis/redis.log (startRedis).
func (h *hub) logFile(child string) string {
	return filepath.Join(h.cfg.Path(h.cfg.Log.Dir), "service-"+child+".log")
}
