package agent

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/runnerclient"
)

// ErrCredentialsRefused is the Hub answering 401: this runner's secret was
// regenerated or the runner deleted. Retrying cannot help.
var ErrCredentialsRefused = runnerclient.ErrCredentialsRefused

// Agent is one runner's connection to its Hub.
type Agent struct {
	client  *runnerclient.Client
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
	log.Info("starting", "version", buildinfo.Version, "commit", buildinfo.Commit, "hub", base.Redacted(), "runner_id", cfg.ID,
		"work_dir", cfg.WorkDir, "trust", mode)
	a := &Agent{
		sampler: NewSampler(cfg.WorkDir),
		log:     log,
		random:  rand.Float64,
		sleep:   runnerclient.Sleep,
	}
	// The client draws and waits through the agent (tests replace both).
	a.client, err = runnerclient.New(runnerclient.Config{Hub: base.String(), RunnerID: cfg.ID, Secret: string(sec),
		UserAgent: runners.UserAgentPrefix + buildinfo.Version, HTTP: runnerclient.NewHTTPClient(tc), Log: log,
		Random:       func() float64 { return a.random() },
		Sleep:        func(ctx context.Context, d time.Duration) error { return a.sleep(ctx, d) },
		StartOnClaim: true})
	if err != nil {
		return nil, usagef("%v", err)
	}
	if cfg.MaxJobs > 0 {
		if a.jobs, err = newJobRunner(a, cfg); err != nil {
			return nil, err
		}
	}
	return a, nil
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
		resp, err := a.client.Heartbeat(ctx, a.report())
		if ctx.Err() != nil {
			break
		}
		if err == nil && a.jobs != nil && len(resp.CancelJobIDs) > 0 {
			a.jobs.cancel(resp.CancelJobIDs)
		}
		wait, err := a.next(&st, clampInterval(time.Duration(resp.HeartbeatIntervalSeconds)*time.Second), err)
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

// next decides how long to wait after a heartbeat that asked for interval
// or failed with err, or that the agent must stop.
func (a *Agent) next(st *loop, interval time.Duration, err error) (time.Duration, error) {
	switch {
	case err == nil:
		if !st.connected {
			a.log.Info("connected to the Hub", "heartbeat_interval", interval.String(), "after_failures", st.failures)
		}
		st.connected, st.everUp, st.failures = true, true, 0
		return runnerclient.Jitter(interval, a.random), nil
	case errors.Is(err, ErrCredentialsRefused):
		a.log.Error(err.Error())
		return 0, err
	case errors.Is(err, runnerclient.ErrUpgradeRequired): // asked again after runnerclient.UpgradeRetry
		st.failures++
		st.connected = false
		wait := a.client.Wait(st.failures, err)
		a.log.Error("the Hub refuses this agent's version; install the version it names, or upgrade the Hub",
			"version", buildinfo.Version, "hub_says", runnerclient.HubMessage(err), "retry_in", wait.Round(time.Second).String())
		return wait, nil
	case runnerclient.IsCertificateError(err) && !st.everUp:
		err := usagef("refusing to talk to a Hub whose certificate is not trusted (%v); pass --ca with the Hub's "+
			"CA file (a pilot's config/certs/hub.crt) or --fingerprint with its SHA-256", err)
		a.log.Error(err.Error())
		return 0, err
	}
	wait := a.client.Wait(st.failures, err)
	st.failures++
	st.connected = false
	a.log.Log(context.Background(), runnerclient.FailureLevel(err), "heartbeat failed; retrying", "err", err.Error(),
		"status", runnerclient.Status(err), "failures", st.failures, "retry_in", wait.Round(time.Millisecond).String())
	return wait, nil
}

// clampInterval keeps the Hub's interval within sane bounds (1 s to 1 h);
// none at all means the default.
func clampInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return runners.DefaultHeartbeatInterval
	}
	return min(max(d, time.Second), time.Hour)
}

// report is this machine's heartbeat now.
func (a *Agent) report() runners.Heartbeat {
	host, _ := os.Hostname()
	return runners.Heartbeat{Version: buildinfo.Version, Commit: buildinfo.Commit, OS: runtime.GOOS + "/" + runtime.GOARCH, Hostname: host,
		Metrics: a.sampler.Sample(), RunningJobIDs: a.runningJobIDs()}
}

func (a *Agent) runningJobIDs() []string {
	if a.jobs == nil {
		return []string{}
	}
	return a.jobs.runningIDs()
}
