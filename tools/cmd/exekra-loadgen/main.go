// Command exekra-loadgen simulates runners against a running Hub: it
// registers them through the API and runs one scenario (--scenario):
//
//   - heartbeat (the default): every runner heartbeats at the configured
//     interval; it prints latency percentiles, errors and the CPU the Hub
//     spent per 1,000 calls.
//   - jobs: it publishes a no-op package; the runners claim jobs and finish
//     them at once (download, one log line, success). It measures pickup
//     latency (jobs created one at a time while every runner waits), then
//     throughput (jobs created as fast as --clients API clients can), and
//     reads every job back to check it succeeded.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/tools/internal/hubclient"
	"github.com/exekra/hub/tools/internal/loadgen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekra-loadgen: %v\n", err)
		stop()
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	hub, ca, tokenFile, metrics, scenario string
	token                                 string // read from tokenFile
	runners                               int
	// heartbeat
	interval, duration time.Duration
	// jobs
	pkg                                     string
	claimWait, pickupEvery, jobsFor, finish time.Duration
	pickupJobs, clients, jobs               int
	download                                bool
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("exekra-loadgen", flag.ContinueOnError)
	fs.StringVar(&o.hub, "hub", "https://127.0.0.1:8443", "the Hub's URL")
	fs.StringVar(&o.ca, "ca", "", "CA certificate of the Hub (the pilot's config/certs/hub.crt)")
	fs.StringVar(&o.tokenFile, "token-file", "", "ADMIN session token (to register the simulated runners; jobs: to publish and start jobs too)")
	fs.StringVar(&o.scenario, "scenario", "heartbeat", "heartbeat or jobs")
	fs.IntVar(&o.runners, "runners", 100, "simulated runners")
	fs.StringVar(&o.metrics, "metrics", "", "comma-separated /metrics URLs of the Hub's processes, for CPU accounting")
	fs.DurationVar(&o.interval, "interval", 15*time.Second, "heartbeat: heartbeat interval of each runner")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "heartbeat: how long to run")
	fs.StringVar(&o.pkg, "package", "loadgen-noop", "jobs: name of the no-op package to publish (as version 1.0.<unix time>)")
	fs.DurationVar(&o.claimWait, "claim-wait", 30*time.Second, "jobs: how long each claim waits for a job (?wait=, 1s to 60s)")
	fs.BoolVar(&o.download, "download", true, "jobs: download the package of every claimed job")
	fs.IntVar(&o.pickupJobs, "pickup-jobs", 200, "jobs: jobs created one at a time to measure pickup latency")
	fs.DurationVar(&o.pickupEvery, "pickup-every", 50*time.Millisecond, "jobs: spacing of the pickup jobs")
	fs.IntVar(&o.clients, "clients", 8, "jobs: concurrent API clients creating jobs to measure throughput")
	fs.IntVar(&o.jobs, "jobs", 2000, "jobs: jobs to create to measure throughput (0: no limit, see --jobs-for)")
	fs.DurationVar(&o.jobsFor, "jobs-for", 0, "jobs: stop creating throughput jobs after this long (0: no limit, see --jobs)")
	fs.DurationVar(&o.finish, "finish-timeout", time.Minute, "jobs: stop waiting for created jobs when none finished for this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.hub = strings.TrimRight(o.hub, "/")
	return o, o.check()
}

func (o options) check() error {
	switch {
	case o.scenario != "heartbeat" && o.scenario != "jobs":
		return fmt.Errorf("--scenario must be heartbeat or jobs, not %q", o.scenario)
	case o.runners < 1:
		return errors.New("--runners must be at least 1")
	case o.scenario != "jobs":
		return nil
	case o.claimWait < time.Second || o.claimWait > runners.MaxClaimWaitSeconds*time.Second:
		return fmt.Errorf("--claim-wait must be from 1s to %ds", runners.MaxClaimWaitSeconds)
	case o.pickupJobs < 0 || o.pickupJobs > 0 && o.pickupEvery <= 0:
		return errors.New("--pickup-jobs must not be negative, and --pickup-every must be positive")
	case o.clients < 1:
		return errors.New("--clients must be at least 1")
	case o.jobs <= 0 && o.jobsFor <= 0:
		return errors.New("--jobs or --jobs-for must be positive")
	case o.finish <= 0:
		return errors.New("--finish-timeout must be positive")
	}
	return nil
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	token, err := os.ReadFile(o.tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	o.token = strings.TrimSpace(string(token))
	api, err := hubclient.New(o.hub, o.token, hubclient.Options{CAFile: o.ca})
	if err != nil {
		return err
	}
	if o.scenario == "jobs" {
		return runJobs(ctx, stdout, api, o)
	}
	return runHeartbeats(ctx, stdout, api, o)
}

func runHeartbeats(ctx context.Context, stdout io.Writer, api *hubclient.Client, o options) error {
	sims, err := register(api, o.runners)
	defer cleanup(api, sims)
	if err != nil {
		return err
	}
	client, err := httpClient(o.ca, o.runners, 30*time.Second)
	if err != nil {
		return err
	}
	urls := metricsURLs(o.metrics)
	// One interval of warm-up (TLS handshakes, first heartbeats), not measured.
	loadgen.Heartbeats(ctx, client, o.hub, sims, o.interval, o.interval)
	before, _ := loadgen.CPUSeconds(http.DefaultClient, urls)
	res := loadgen.Heartbeats(ctx, client, o.hub, sims, o.interval, o.duration)
	after, _ := loadgen.CPUSeconds(http.DefaultClient, urls)
	res.HubCPU = after - before
	if res.Requests > 0 {
		res.CPUPer1000 = res.HubCPU * 1000 / float64(res.Requests) * 1000
	}
	fmt.Fprintf(stdout, "%d runners, heartbeat every %s, for %s; Hub CPU %.2fs\n", o.runners, o.interval, o.duration, res.HubCPU)
	loadgen.Print(stdout, []loadgen.Result{res})
	return nil
}

func runJobs(ctx context.Context, stdout io.Writer, api *hubclient.Client, o options) error {
	pkg, err := loadgen.PublishNoop(api, o.pkg, fmt.Sprintf("1.0.%d", time.Now().Unix()))
	if err != nil {
		return err
	}
	sims, err := register(api, o.runners)
	defer cleanup(api, sims)
	if err != nil {
		return err
	}
	// No client timeout: each runner call has its own (a claim waits up to --claim-wait).
	client, err := httpClient(o.ca, o.runners, 0)
	if err != nil {
		return err
	}
	apis := make([]*hubclient.Client, o.clients)
	for i := range apis {
		if apis[i], err = hubclient.New(o.hub, o.token, hubclient.Options{CAFile: o.ca, Timeout: time.Minute}); err != nil {
			return err
		}
	}
	errs := &loadgen.Errors{}
	rep, err := loadgen.RunJobs(ctx, loadgen.JobsConfig{
		Fleet:      &loadgen.Fleet{Client: client, Hub: o.hub, Runners: sims, ClaimWait: o.claimWait, Download: o.download, Errors: errs},
		APIs:       apis,
		Job:        runners.CreateJobRequest{Package: pkg.Name, Version: pkg.Version, Environment: runners.EnvDevelopment},
		PickupJobs: o.pickupJobs, PickupEvery: o.pickupEvery, Jobs: o.jobs, JobsFor: o.jobsFor,
		FinishTimeout: o.finish, Metrics: metricsURLs(o.metrics),
	})
	if err != nil {
		return err
	}
	loadgen.PrintJobs(stdout, rep)
	return nil
}

func metricsURLs(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

func register(api *hubclient.Client, n int) ([]loadgen.Runner, error) {
	stamp := time.Now().Format("150405")
	out := make([]loadgen.Runner, 0, n)
	for i := range n {
		var reg runners.Registered
		req := runners.RegisterRequest{Name: fmt.Sprintf("loadgen-%s-%05d", stamp, i), Environment: runners.EnvDevelopment}
		if err := api.JSON("POST", "/api/v1/runners", req, &reg); err != nil {
			return out, fmt.Errorf("register runner %d: %w", i, err)
		}
		out = append(out, loadgen.Runner{ID: reg.Runner.ID, Secret: reg.MachineSecret})
	}
	return out, nil
}

func cleanup(api *hubclient.Client, sims []loadgen.Runner) {
	for _, r := range sims {
		api.JSON("DELETE", "/api/v1/runners/"+r.ID, nil, nil)
	}
}

// httpClient keeps enough idle connections for every simulated runner.
func httpClient(caFile string, n int, timeout time.Duration) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		cfg.RootCAs.AppendCertsFromPEM(pem)
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig: cfg, MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: 2 * time.Minute,
	}}, nil
}
