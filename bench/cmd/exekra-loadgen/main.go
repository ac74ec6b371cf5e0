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
//   - floor: the machine's floor for one API read, in this process: a bare
//     gin HTTPS handler making one NATS request (--nats) to a responder
//     that reads one PostgreSQL row by primary key (--database-url, in a
//     scratch schema bench_floor it drops after), at --concurrency clients
//     for --measure.
//   - api-reads: --concurrency clients reading one runner
//     (GET /api/v1/runners/{id}) for --measure.
//   - schedules: it publishes the no-op package and creates --schedules
//     schedules (--clients at once) firing once a minute, spread over the
//     seconds of the minute, in --schedules-environment, where no simulated
//     runner takes their jobs; it lets them fire for --schedules-measure,
//     reads every fire of that window back and prints the fires by
//     outcome, the fire times missing or repeated, the lag from fire time
//     to job created and the CPU the Hub spent per fire; then it deletes
//     the schedules (their jobs stay pending).
//   - failover: it starts a second runners instance (--failover-instance),
//     has --failover-runners runners hold their claims across the two,
//     kills that instance (SIGKILL) and at once creates one job for each
//     runner: it measures kill → job at the runner (the claims the killed
//     instance held are answered only once a gateway sent them to the
//     other), the claims moved, and reads every job back.
//   - reads: floor, then api-reads, as one table against the floor.
//   - bench: floor, api-reads, heartbeat (--runners), jobs (--job-runners),
//     schedules (--schedules; 0 leaves them out) and failover (without
//     --failover-instance left out), then one table of
//     every operation against the floor and the performance targets, and
//     one JSON line. With --saturated N (N busy processes beside the Hub)
//     the table ends with a saturation row: met only if no part had an
//     error and every job read back succeeded.
package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exekra/hub/bench/internal/loadgen"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
	"github.com/exekra/hub/libs/runnerclient"
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
	metricsTokenFile, metricsToken        string // the Hub's metrics.token_file, and its content
	runners                               int
	// floor, api-reads (and bench)
	natsURL, databaseURL    string
	natsCredentials         string
	concurrency, dbMaxConns int
	measure, warmup         time.Duration
	jobRunners              int // bench: the jobs part's runners
	saturated               int // busy processes beside the Hub: adds the saturation row
	// heartbeat
	interval, duration time.Duration
	hubPID             int
	// jobs
	pkg                                     string
	claimWait, pickupEvery, jobsFor, finish time.Duration
	pickupJobs, clients, jobs               int
	createBatch                             int  // jobs per create request of the throughput part
	claimStart                              bool // the jobs part's claims take their jobs up
	download                                bool
	// schedules
	schedules        int
	schedulesMeasure time.Duration
	scheduleEnv      string
	// failover
	failoverInstance string // starts a second runners instance, the one killed
	failoverRunners  int
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("exekra-loadgen", flag.ContinueOnError)
	fs.StringVar(&o.hub, "hub", "https://127.0.0.1:8443", "the Hub's URL")
	fs.StringVar(&o.ca, "ca", "", "CA certificate of the Hub (the pilot's config/certs/hub.crt)")
	fs.StringVar(&o.tokenFile, "token-file", "", "ADMIN session token (to register the simulated runners; jobs: to publish and start jobs too)")
	fs.StringVar(&o.scenario, "scenario", "heartbeat", "heartbeat, jobs, schedules, floor, api-reads, reads (floor and api-reads) or bench")
	fs.IntVar(&o.runners, "runners", loadgen.HeartbeatRunnersTarget, "heartbeat (and bench's heartbeat part): simulated runners; the heartbeat target is met only at this many or more")
	fs.StringVar(&o.metrics, "metrics", "", "comma-separated /metrics URLs of the Hub's processes, for CPU accounting")
	fs.StringVar(&o.metricsTokenFile, "metrics-token-file", "", "the Hub's metrics.token_file (the pilot's var/credentials/metrics.token): its bearer token reads --metrics")
	fs.DurationVar(&o.interval, "interval", 15*time.Second, "heartbeat: heartbeat interval of each runner")
	fs.DurationVar(&o.duration, "duration", 60*time.Second, "heartbeat: how long to run")
	fs.IntVar(&o.hubPID, "hub-pid", 0, "heartbeat: the pilot's exekra-hub process; the memory of it and its children (services, PostgreSQL, Redis) is reported")
	fs.StringVar(&o.pkg, "package", "loadgen-noop", "jobs: name of the no-op package to publish (as version 1.0.<unix time>)")
	fs.DurationVar(&o.claimWait, "claim-wait", 30*time.Second, "jobs: how long each claim waits for a job (?wait=, 1s to 60s)")
	fs.BoolVar(&o.download, "download", true, "jobs: download each package a runner is given (once per runner and package, as the agent caches packages)")
	fs.IntVar(&o.pickupJobs, "pickup-jobs", 200, "jobs: jobs created one at a time to measure pickup latency")
	fs.DurationVar(&o.pickupEvery, "pickup-every", 50*time.Millisecond, "jobs: spacing of the pickup jobs")
	fs.IntVar(&o.clients, "clients", 8, "jobs, schedules: concurrent API clients creating jobs to measure throughput, or creating (and deleting) the schedules")
	fs.IntVar(&o.jobs, "jobs", 2000, "jobs: jobs to create to measure throughput (0: no limit, see --jobs-for)")
	fs.BoolVar(&o.claimStart, "claim-start", true, "jobs: the runners' claims take their jobs up (Exekra-Claim-Start), as the agent's do; false: a log upload takes each job up")
	fs.IntVar(&o.createBatch, "create-batch", 1, fmt.Sprintf("jobs: throughput jobs per create request: 1 posts each to /api/v1/jobs, 2 to %d post them that many at a time to %s (the pickup jobs go one at a time)", runners.MaxJobBatch, runners.PathJobBatches))
	fs.DurationVar(&o.jobsFor, "jobs-for", 0, "jobs: stop creating throughput jobs after this long (0: no limit, see --jobs)")
	fs.DurationVar(&o.finish, "finish-timeout", time.Minute, "jobs: stop waiting for created jobs when none finished for this long")
	fs.StringVar(&o.natsURL, "nats", "nats://127.0.0.1:14222", "floor: the NATS the floor's handler and responder use (the pilot's nats.listen)")
	fs.StringVar(&o.natsCredentials, "nats-credentials", "./var/hub/var/credentials", "floor: the pilot's hub.credentials_dir (the floor connects with the gateway's and licensing's keys)")
	fs.StringVar(&o.databaseURL, "database-url", "", "floor: PostgreSQL URL; the floor creates and drops the schema bench_floor there")
	fs.IntVar(&o.dbMaxConns, "database-max-conns", 10, "floor: the responder's pool size (the Hub's database.max_conns)")
	fs.IntVar(&o.concurrency, "concurrency", 64, "floor, api-reads: concurrent clients, back to back")
	fs.DurationVar(&o.measure, "measure", 20*time.Second, "floor, api-reads: how long to measure")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "floor, api-reads: unmeasured warm-up before it")
	fs.IntVar(&o.schedules, "schedules", 10000, "schedules: schedules to create, each firing once a minute (bench: 0 leaves the part out)")
	fs.DurationVar(&o.schedulesMeasure, "schedules-measure", 3*time.Minute, "schedules: how long to let them fire (the window whose fires are read back)")
	fs.StringVar(&o.scheduleEnv, "schedules-environment", runners.EnvStaging, "schedules: the environment of their jobs (keep it one no simulated runner is in: the jobs stay pending)")
	fs.IntVar(&o.saturated, "saturated", 0, "floor, api-reads, reads, bench: the busy processes run beside the Hub (deploy/scripts/bench.sh's BENCH_SATURATE); above 0 adds a saturation row, met only if no row had an error")
	fs.StringVar(&o.failoverInstance, "failover-instance", "", "failover (and bench's failover part): a program that runs a second runners instance of the Hub in the foreground (deploy/scripts/bench.sh writes one); the part kills it (SIGKILL) while it holds claims. Empty: bench leaves the part out")
	fs.IntVar(&o.failoverRunners, "failover-runners", 200, "failover: runners holding a claim when the instance is killed, each given a job of its own right after")
	fs.IntVar(&o.jobRunners, "job-runners", 100, "simulated runners of the jobs part, in the jobs and bench scenarios (--runners is the heartbeat part's)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.hub = strings.TrimRight(o.hub, "/")
	return o, o.check()
}

func (o options) check() error {
	switch {
	case !slices.Contains([]string{"heartbeat", "jobs", "schedules", "floor", "api-reads", "reads", "failover", "bench"}, o.scenario):
		return fmt.Errorf("--scenario must be heartbeat, jobs, schedules, floor, api-reads, reads, failover or bench, not %q", o.scenario)
	case o.scenario == "failover" && o.failoverInstance == "":
		return errors.New("--failover-instance is needed for the failover scenario")
	case o.failoverRunners < 1:
		return errors.New("--failover-runners must be at least 1")
	case o.runners < 1 || o.jobRunners < 1:
		return errors.New("--runners and --job-runners must be at least 1")
	case o.schedules < 0:
		return errors.New("--schedules must not be negative")
	case o.saturated < 0:
		return errors.New("--saturated must not be negative")
	case (o.scenario == "floor" || o.scenario == "reads" || o.scenario == "bench") && o.databaseURL == "":
		return errors.New("--database-url is needed for the floor")
	case o.concurrency < 1 || o.measure <= 0 || o.warmup < 0 || o.dbMaxConns < 1:
		return errors.New("--concurrency, --measure and --database-max-conns must be positive, --warmup not negative")
	case o.scenario == "schedules" || o.scenario == "bench" && o.schedules > 0:
		if err := o.checkSchedules(); err != nil {
			return err
		}
	}
	switch {
	case o.scenario != "jobs" && o.scenario != "bench":
		return nil
	case o.claimWait < time.Second || o.claimWait > runners.MaxClaimWaitSeconds*time.Second:
		return fmt.Errorf("--claim-wait must be from 1s to %ds", runners.MaxClaimWaitSeconds)
	case o.pickupJobs < 0 || o.pickupJobs > 0 && o.pickupEvery <= 0:
		return errors.New("--pickup-jobs must not be negative, and --pickup-every must be positive")
	case o.clients < 1:
		return errors.New("--clients must be at least 1")
	case o.jobs <= 0 && o.jobsFor <= 0:
		return errors.New("--jobs or --jobs-for must be positive")
	case o.createBatch < 1 || o.createBatch > runners.MaxJobBatch:
		return fmt.Errorf("--create-batch must be from 1 to %d", runners.MaxJobBatch)
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
	if o.metrics != "" {
		token, err := os.ReadFile(o.metricsTokenFile)
		if err != nil {
			return fmt.Errorf("--metrics-token-file (needed with --metrics): %w", err)
		}
		o.metricsToken = strings.TrimSpace(string(token))
	}
	if o.scenario == "floor" {
		row, err := measureFloor(ctx, o)
		if err != nil {
			return err
		}
		loadgen.PrintBench(stdout, loadgen.WithSaturation([]loadgen.BenchRow{row}, o.saturated, 0))
		return nil
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
	switch o.scenario {
	case "jobs":
		o.runners = o.jobRunners // as in bench's jobs part (deploy/scripts/bench.sh passes both)
		return runJobs(ctx, stdout, api, o)
	case "api-reads":
		row, err := measureAPIReads(ctx, api, o)
		if err != nil {
			return err
		}
		loadgen.PrintBench(stdout, loadgen.WithSaturation([]loadgen.BenchRow{row}, o.saturated, 0))
		return nil
	case "schedules":
		return runSchedules(ctx, stdout, api, o)
	case "failover":
		rep, err := measureFailover(ctx, api, o)
		if err != nil {
			return err
		}
		rows := loadgen.CompareToFloor(loadgen.BenchRow{}, []loadgen.BenchRow{loadgen.FailoverRow(rep, failoverInstances)})
		loadgen.PrintBench(stdout, loadgen.WithSaturation(rows, o.saturated, 0)) // its row counts its jobs not succeeded
		fmt.Fprintln(stdout, loadgen.FailoverNote(rep))
		return nil
	case "bench", "reads":
		return runBench(ctx, stdout, api, o)
	}
	return runHeartbeats(ctx, stdout, api, o)
}

func runHeartbeats(ctx context.Context, stdout io.Writer, api *hubclient.Client, o options) error {
	res, err := measureHeartbeats(ctx, api, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d runners, heartbeat every %s, for %s; Hub CPU %.2fs\n", o.runners, o.interval, o.duration, res.HubCPU)
	fmt.Fprintln(stdout, loadgen.HeartbeatNote(res, o.runners))
	loadgen.Print(stdout, []loadgen.Result{res})
	return nil
}

func measureHeartbeats(ctx context.Context, api *hubclient.Client, o options) (loadgen.Result, error) {
	regs, err := register(api, o.runners)
	defer cleanup(api, regs)
	if err != nil {
		return loadgen.Result{}, err
	}
	// Each runner has its own connection, HTTP/2 as the agent's, carrying
	// its heartbeats and its long-poll claim.
	sims := make([]loadgen.Runner, len(regs))
	clients := make([]*http.Client, 0, len(regs))
	// Runs after the fleet stopped (defers run last first): the next part
	// starts without these runners' connections held open in the gateway.
	defer func() {
		for _, hc := range clients {
			hc.CloseIdleConnections()
		}
	}()
	for i, reg := range regs {
		hc, err := runnerClient(o.ca)
		if err != nil {
			return loadgen.Result{}, err
		}
		clients = append(clients, hc)
		if sims[i], err = loadgen.NewRunner(o.hub, reg.id, reg.secret, hc, false); err != nil {
			return loadgen.Result{}, err
		}
	}
	claimErrs := &loadgen.Errors{}
	fleet := &loadgen.Fleet{Runners: sims, ClaimWait: agentClaimWait, Errors: claimErrs, Stagger: o.interval}
	fctx, stopFleet := context.WithCancel(ctx)
	fleetDone := make(chan struct{})
	go func() { fleet.Run(fctx, nil); close(fleetDone) }()
	defer func() { stopFleet(); <-fleetDone }()

	// One interval of warm-up (TLS handshakes, first heartbeats), not measured.
	loadgen.Heartbeats(ctx, sims, o.interval, o.interval)
	var peak map[string]int64  // the Hub's memory at its peak, by program
	fewest := int64(len(sims)) // claims open at once
	stopSampling := everySecond(ctx, func() {
		if m, err := loadgen.TreeMemory(o.hubPID); o.hubPID > 0 && err == nil && loadgen.Total(m) > loadgen.Total(peak) {
			peak = m
		}
		fewest = min(fewest, int64(fleet.Waiting()))
	})
	spent := loadgen.StartCPU(o.scrape())
	res := loadgen.Heartbeats(ctx, sims, o.interval, o.duration)
	seconds, _ := spent()
	stopSampling()
	res.HubCPU, res.CPUPer1000 = seconds, loadgen.PerThousand(seconds, res.Requests-res.Errors)
	res.HubMemoryBy, res.HubMemory, res.ClaimsOpenMin = peak, loadgen.Total(peak), fewest
	for _, reasons := range claimErrs.Snapshot() {
		for _, n := range reasons {
			res.ClaimErrors += n
		}
	}
	return res, nil
}

// agentClaimWait is the agent's own long-poll wait.
const agentClaimWait = 30 * time.Second

// everySecond calls sample at once and then every second until the
// returned function is called, which returns after the last call.
func everySecond(ctx context.Context, sample func()) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			sample()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() { cancel(); <-done }
}

func runJobs(ctx context.Context, stdout io.Writer, api *hubclient.Client, o options) error {
	rep, err := measureJobs(ctx, api, o)
	if err != nil {
		return err
	}
	loadgen.PrintJobs(stdout, rep)
	return nil
}

// measureJobs runs the jobs scenario with o.runners runners.
func measureJobs(ctx context.Context, api *hubclient.Client, o options) (loadgen.JobsReport, error) {
	jr, err := newJobRunners(api, o, o.runners, o.claimStart)
	defer cleanup(api, jr.regs)
	if err != nil {
		return loadgen.JobsReport{}, err
	}
	errs := &loadgen.Errors{}
	rep, err := loadgen.RunJobs(ctx, loadgen.JobsConfig{
		Fleet:      &loadgen.Fleet{Runners: jr.sims, ClaimWait: o.claimWait, Download: o.download, Errors: errs},
		APIs:       jr.apis,
		Job:        runners.CreateJobRequest{Package: jr.pkg.Name, Version: jr.pkg.Version, Environment: runners.EnvDevelopment},
		PickupJobs: o.pickupJobs, PickupEvery: o.pickupEvery, Jobs: o.jobs, JobsFor: o.jobsFor,
		FinishTimeout: o.finish, Metrics: o.scrape(),
		Tree:        func() map[string]float64 { return treeCPU(o.hubPID) },
		WAL:         o.walStats(ctx),
		CreateBatch: o.createBatch,
	})
	rep.ClaimStart = o.claimStart
	return rep, err
}

// jobRunners is what a part that runs jobs needs: the no-op package, the
// runners registered for it (cleanup deletes them) as simulated agents
// sharing one client, and o.clients API clients to create the jobs.
type jobRunners struct {
	pkg  runners.Package
	regs []registered
	sims []loadgen.Runner
	apis []*hubclient.Client
}

// newJobRunners publishes the no-op package and registers n runners whose
// claims take their jobs up when claimStart; on an error, regs holds the
// runners registered so far.
func newJobRunners(api *hubclient.Client, o options, n int, claimStart bool) (jobRunners, error) {
	var jr jobRunners
	var err error
	if jr.pkg, err = loadgen.PublishNoop(api, o.pkg, fmt.Sprintf("1.0.%d", time.Now().UnixNano())); err != nil {
		return jr, err
	}
	if jr.regs, err = register(api, n); err != nil {
		return jr, err
	}
	// No client timeout: each runner call has its own (a claim waits up to its wait).
	client, err := httpClient(o.ca, n, 0)
	if err != nil {
		return jr, err
	}
	jr.sims = make([]loadgen.Runner, len(jr.regs))
	for i, reg := range jr.regs {
		if jr.sims[i], err = loadgen.NewRunner(o.hub, reg.id, reg.secret, client, claimStart); err != nil {
			return jr, err
		}
	}
	jr.apis = make([]*hubclient.Client, o.clients)
	for i := range jr.apis {
		if jr.apis[i], err = hubclient.New(o.hub, o.token, hubclient.Options{CAFile: o.ca, Timeout: time.Minute}); err != nil {
			return jr, err
		}
	}
	return jr, nil
}

// walStats reads PostgreSQL's counters through --database-url (nil without one).
func (o options) walStats(ctx context.Context) func() (loadgen.WALStats, error) {
	if o.databaseURL == "" {
		return nil
	}
	return func() (loadgen.WALStats, error) { return loadgen.ReadWALStats(ctx, o.databaseURL) }
}

// scrape is the Hub's /metrics URLs of --metrics and the token of
// --metrics-token-file.
func (o options) scrape() loadgen.Scrape {
	if o.metrics == "" {
		return loadgen.Scrape{}
	}
	return loadgen.Scrape{URLs: strings.Split(o.metrics, ","), Token: o.metricsToken}
}

// adminWorkers is how many admin calls register and cleanup make at once.
const adminWorkers = 8

// registered is a runner the load generator registered.
type registered struct{ id, secret string }

// register registers n runners, adminWorkers at a time; on an error it
// returns the runners registered so far (for cleanup) and the first error.
func register(api *hubclient.Client, n int) ([]registered, error) {
	stamp := time.Now().Format("150405")
	var mu sync.Mutex
	out := make([]registered, 0, n)
	var firstErr error
	each(n, func(i int) {
		var reg runners.Registered
		req := runners.RegisterRequest{Name: fmt.Sprintf("loadgen-%s-%05d", stamp, i), Environment: runners.EnvDevelopment}
		err := api.JSON("POST", runners.PathRunners, req, &reg)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			firstErr = cmp.Or(firstErr, fmt.Errorf("register runner %d: %w", i, err))
			return
		}
		out = append(out, registered{id: reg.Runner.ID, secret: reg.MachineSecret})
	})
	return out, firstErr
}

func cleanup(api *hubclient.Client, regs []registered) {
	each(len(regs), func(i int) { api.JSON("DELETE", runners.RunnerPath(regs[i].id), nil, nil) })
}

// each calls f(0..n-1), adminWorkers at a time.
func each(n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(adminWorkers, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// httpClient keeps enough idle connections for every simulated runner.
func httpClient(caFile string, n int, timeout time.Duration) (*http.Client, error) {
	cfg, err := tlsConfig(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: timeout, Transport: &http.Transport{
		TLSClientConfig: cfg, MaxIdleConns: n, MaxIdleConnsPerHost: n, IdleConnTimeout: 2 * time.Minute,
	}}, nil
}

// runnerClient is one simulated runner's own connection: HTTP/2 like the
// agent's, so its heartbeats share the connection its claim waits on.
func runnerClient(caFile string) (*http.Client, error) {
	cfg, err := tlsConfig(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig: cfg, ForceAttemptHTTP2: true, MaxConnsPerHost: 1, IdleConnTimeout: 2 * time.Minute,
	}}, nil
}

// tlsConfig trusts caFile (the system's roots without one), as a runner does.
func tlsConfig(caFile string) (*tls.Config, error) {
	return runnerclient.TLSConfig(caFile, "")
}
