package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
)

// Agent is one runner's connection to its Hub.
type Agent struct {
	client  *hubClient
	sampler *Sampler
	log     *slog.Logger
	random  func() float64                                   // in [0, 1)
	sleep   func(ctx context.Context, d time.Duration) error // returns ctx's error when it ends first
	jobs    *jobRunner                                       // nil: heartbeats only (MaxJobs 0)
}

// New checks cfg, reads the secret and prepares the agent.
func New(cfg Config, log *slog.Logger) (*Agent, error) {
	base, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	sec, err := readSecret(cfg.SecretFile, func(msg string) { log.Warn(msg) })
	if err != nil {
		return nil, err
	}
	tc, mode, err := tlsConfig(cfg)
	if err != nil {
		return nil, err
	}
	if base.Scheme == "http" {
		log.Warn("talking plain HTTP to the Hub: the machine secret travels in clear (tests only)")
	}
	if info, err := os.Stat(cfg.WorkDir); err != nil || !info.IsDir() {
		log.Warn("the work directory is missing; its free disk space is reported as 0", "work_dir", cfg.WorkDir)
	}
	log.Info("starting", "version", buildinfo.Version, "hub", base.Redacted(), "runner_id", cfg.ID,
		"work_dir", cfg.WorkDir, "trust", mode)
	hc := newHTTPClient(tc)
	a := &Agent{
		client: &hubClient{base: base, http: hc, long: newLongClient(hc), id: cfg.ID, secret: sec,
			userAgent: runners.UserAgentPrefix + buildinfo.Version, now: time.Now},
		sampler: NewSampler(cfg.WorkDir),
		log:     log,
		random:  rand.Float64,
		sleep:   sleepContext,
	}
	if cfg.MaxJobs > 0 {
		if a.jobs, err = newJobRunner(a, cfg); err != nil {
			return nil, err
		}
	}
	return a, nil
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// loop is what the heartbeat loop remembers between attempts.
type loop struct {
	failures  int  // consecutive failed heartbeats
	connected bool // the last heartbeat succeeded
	everUp    bool // a heartbeat has succeeded since start
}

// Run sends heartbeats, and claims and runs jobs beside them, until ctx
// ends (nil) or the Hub refuses the credentials (ErrCredentialsRefused) or,
// on first contact, its certificate.
func (a *Agent) Run(ctx context.Context) error {
	if a.jobs == nil {
		return a.heartbeats(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobsErr := make(chan error, 1)
	go func() {
		err := a.jobs.run(ctx)
		if err != nil {
			cancel()
		}
		jobsErr <- err
	}()
	err := a.heartbeats(ctx)
	cancel()
	if jerr := <-jobsErr; err == nil {
		err = jerr
	}
	return err
}

// heartbeats is the heartbeat loop; it hands the Hub's cancellations to the jobs.
func (a *Agent) heartbeats(ctx context.Context) error {
	var st loop
	for {
		r := a.client.heartbeat(ctx, a.report())
		if ctx.Err() != nil {
			break
		}
		if a.jobs != nil && len(r.cancelJobs) > 0 {
			a.jobs.cancel(r.cancelJobs)
		}
		wait, err := a.next(&st, r)
		if err != nil {
			return err
		}
		if a.sleep(ctx, wait) != nil {
			break
		}
	}
	a.log.Info("stopped")
	return nil
}

// next decides how long to wait after r, or that the agent must stop.
func (a *Agent) next(st *loop, r result) (time.Duration, error) {
	switch {
	case r.err == nil:
		if !st.connected {
			a.log.Info("connected to the Hub", "heartbeat_interval", r.interval.String(), "after_failures", st.failures)
		}
		st.connected, st.everUp, st.failures = true, true, 0
		return Jitter(r.interval, a.random), nil
	case errors.Is(r.err, ErrCredentialsRefused):
		a.log.Error(r.err.Error())
		return 0, r.err
	case certificateError(r.err) && !st.everUp:
		err := usagef("refusing to talk to a Hub whose certificate is not trusted (%v); pass --ca with the Hub's "+
			"CA file (a pilot's config/certs/hub.crt) or --fingerprint with its SHA-256", r.err)
		a.log.Error(err.Error())
		return 0, err
	}
	wait := Backoff(st.failures, a.random)
	if r.retryAfter > 0 {
		wait = r.retryAfter + time.Duration(a.random()*IntervalJitter*float64(r.retryAfter))
	}
	st.failures++
	st.connected = false
	a.log.Log(context.Background(), failureLevel(r), "heartbeat failed; retrying", "err", r.err.Error(), "status", r.status,
		"failures", st.failures, "retry_in", wait.Round(time.Millisecond).String())
	return wait, nil
}

// failureLevel is an error for what a person should look at (a certificate
// no longer trusted, a request the Hub refuses, such as an unsupported
// protocol), a warning for what passes by itself (network, 5xx, 429).
func failureLevel(r result) slog.Level {
	if certificateError(r.err) || (r.status >= 400 && r.status < 500 && r.status != http.StatusTooManyRequests) {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// report is this machine's heartbeat now.
func (a *Agent) report() runners.Heartbeat {
	host, _ := os.Hostname()
	return runners.Heartbeat{Version: buildinfo.Version, OS: runtime.GOOS + "/" + runtime.GOARCH, Hostname: host,
		Metrics: a.sampler.Sample(), RunningJobIDs: a.runningJobIDs()}
}

func (a *Agent) runningJobIDs() []string {
	if a.jobs == nil {
		return []string{}
	}
	return a.jobs.runningIDs()
}
