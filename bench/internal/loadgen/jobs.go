package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// JobsConfig says how to run the jobs scenario.
type JobsConfig struct {
	Fleet *Fleet
	// APIs are the concurrent job creators, one client (and connection)
	// each; APIs[0] alone creates the pickup jobs.
	APIs          []*hubclient.Client
	Job           runners.CreateJobRequest // what every job runs, and where
	PickupJobs    int                      // pickup: jobs created one at a time
	PickupEvery   time.Duration            // pickup: the spacing of their creation
	Jobs          int                      // throughput: jobs to create (0: no limit)
	JobsFor       time.Duration            // throughput: how long to create (0: no limit)
	FinishTimeout time.Duration            // stop waiting for jobs when none finished for this long
	Metrics       Scrape                   // the Hub's processes' /metrics, for its CPU
	// Tree reads the CPU of every program under the Hub's process
	// (TreeCPU: PostgreSQL and Redis beside the services); nil: not measured.
	Tree func() map[string]float64
	// WAL reads PostgreSQL's counters of work written (ReadWALStats); nil:
	// not measured.
	WAL func() (WALStats, error)
	// CreateBatch is how many throughput jobs one request creates: 0 or 1
	// is one POST /api/v1/jobs per job, 2 to MaxJobBatch one POST
	// PathJobBatches per CreateBatch jobs. The pickup jobs go one at a time.
	CreateBatch int
}

// settle lets the Hub take up the claims the runners have sent before the
// pickup measurement starts: a claim on the wire is not yet a waiting one.
const settle = 2 * time.Second

// RunJobs runs the fleet, measures pickup latency with every runner idle,
// then throughput, and reads every created job back through the API.
func RunJobs(ctx context.Context, cfg JobsConfig) (JobsReport, error) {
	rep := JobsReport{Runners: len(cfg.Fleet.Runners), Package: cfg.Job.Package, Version: cfg.Job.Version,
		Environment: cfg.Job.Environment, Download: cfg.Fleet.Download}
	fleetCtx, cancel := context.WithCancel(ctx)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { cfg.Fleet.Run(fleetCtx, stop) })
	defer func() {
		// Let the claims in progress end (see Fleet.Run) before the runners
		// are deleted: this takes up to ClaimWait. An interrupt cuts it short.
		close(stop)
		waitAtMost(&wg, cfg.Fleet.ClaimWait+callTimeout)
		cancel()
		wg.Wait()
	}()

	if err := waitAllWaiting(ctx, cfg.Fleet, time.Minute); err != nil {
		return rep, err
	}
	pause(ctx, settle)
	var pickupIDs, throughputIDs []string
	rep.Pickup, pickupIDs = measurePickup(ctx, cfg)
	rep.Throughput, throughputIDs = measureThroughput(ctx, cfg)
	if ctx.Err() != nil {
		return rep, fmt.Errorf("jobs scenario: %w", ctx.Err())
	}
	rep.Verify = verify(ctx, cfg.APIs, append(pickupIDs, throughputIDs...), cfg.Fleet.Errors)
	// A runner's result rides on its next claim, which then waits for a
	// job: the Hub's finished_at says when each job finished.
	rep.Throughput.timeJobs(rep.Verify.finished)
	rep.Errors = cfg.Fleet.Errors.Snapshot()
	rep.RepeatedClaims = cfg.Fleet.Repeated()
	return rep, ctx.Err()
}

// waitAllWaiting waits until every runner is in a claim.
func waitAllWaiting(ctx context.Context, f *Fleet, within time.Duration) error {
	return waitUntil(ctx, within, 10*time.Millisecond, func() bool { return f.Waiting() >= len(f.Runners) }, func() error {
		return fmt.Errorf("only %d of %d runners are waiting in a claim after %s", f.Waiting(), len(f.Runners), within)
	})
}

// waitUntil looks at ok every so often until it holds (nil), ctx ends
// (ctx's error) or within passes (timedOut's error).
func waitUntil(ctx context.Context, within, every time.Duration, ok func() bool, timedOut func() error) error {
	deadline := time.Now().Add(within)
	for !ok() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return timedOut()
		}
		pause(ctx, every)
	}
	return nil
}

// waitAtMost waits for wg, for d at most.
func waitAtMost(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// creation is one successful POST /api/v1/jobs: when it was sent and when
// its 201 came back.
type creation struct {
	ID        string
	Sent, Got time.Time
}

func createJob(api *hubclient.Client, req runners.CreateJobRequest, errs *Errors) (creation, error) {
	var job runners.Job
	sent := time.Now()
	err := api.JSON(http.MethodPost, "/api/v1/jobs", req, &job)
	got := time.Now()
	if err != nil {
		errs.Add("create", apiReason(err))
		return creation{}, fmt.Errorf("create job: %w", err)
	}
	return creation{ID: job.ID, Sent: sent, Got: got}, nil
}

// createJobs creates n jobs, all like req, in one POST PathJobBatches.
// Every job gets the batch's times: its create latency is the batch's, and
// its turnaround starts when the batch was sent. A failed batch is one error
// under "create-batch" (the Hub creates all of its jobs or none).
func createJobs(api *hubclient.Client, req runners.CreateJobRequest, n int, errs *Errors) ([]creation, error) {
	batch := runners.CreateJobsRequest{Jobs: make([]runners.CreateJobRequest, n)}
	for i := range batch.Jobs {
		batch.Jobs[i] = req
	}
	var resp runners.CreateJobsResponse
	sent := time.Now()
	err := api.JSON(http.MethodPost, runners.PathJobBatches, batch, &resp)
	got := time.Now()
	if err != nil {
		errs.Add("create-batch", apiReason(err))
		return nil, fmt.Errorf("create %d jobs: %w", n, err)
	}
	if len(resp.Items) != n {
		errs.Add("create-batch", "wrong count")
		return nil, fmt.Errorf("create %d jobs: the Hub returned %d", n, len(resp.Items))
	}
	made := make([]creation, n)
	for i, job := range resp.Items {
		made[i] = creation{ID: job.ID, Sent: sent, Got: got}
	}
	return made, nil
}

// nextBatch takes the next batch of up to size jobs from issued, the count
// the clients share, and says how many of them to create: size, fewer for
// the batch that reaches limit, 0 past it (limit 0: no limit).
func nextBatch(issued *atomic.Int64, size, limit int) int {
	end := issued.Add(int64(size))
	if limit <= 0 {
		return size
	}
	return int(max(0, min(int64(size), int64(limit)-(end-int64(size)))))
}

// measurePickup creates PickupJobs jobs one at a time, PickupEvery apart,
// and measures how long each took to reach a waiting runner.
func measurePickup(ctx context.Context, cfg JobsConfig) (PickupReport, []string) {
	rep := PickupReport{Jobs: cfg.PickupJobs, Every: cfg.PickupEvery}
	cpu := hubCPU(cfg.Metrics, cfg.Fleet.Errors)
	start := time.Now()
	tick := time.NewTicker(cfg.PickupEvery)
	defer tick.Stop()
	var made []creation
	failed := 0
	for i := 0; i < cfg.PickupJobs && ctx.Err() == nil; i++ {
		if i > 0 {
			select {
			case <-ctx.Done():
				continue
			case <-tick.C:
			}
		}
		c, err := createJob(cfg.APIs[0], cfg.Job, cfg.Fleet.Errors)
		if err != nil {
			failed++
			continue
		}
		made = append(made, c)
	}
	ids := jobIDs(made)
	waitFinished(ctx, cfg.Fleet, ids, cfg.FinishTimeout)
	rep.HubCPU = cpu()
	took := time.Since(start)

	var create, pickup, after201 []time.Duration
	missed := 0
	for _, c := range made {
		create = append(create, c.Got.Sub(c.Sent))
		at, ok := cfg.Fleet.ClaimedAt(c.ID)
		if !ok {
			missed++
			continue
		}
		pickup = append(pickup, at.Sub(c.Sent))
		// The Hub wakes the waiting claims as it queues the job, before its
		// 201 is on the way back: the runner may hold the job before the
		// creator holds the 201. That negative span is clamped to 0, and
		// counted.
		d := at.Sub(c.Got)
		if d < 0 {
			d, rep.Clamped = 0, rep.Clamped+1
		}
		after201 = append(after201, d)
	}
	rep.Create = summarize("create", create, failed, took)
	rep.Pickup = summarize("pickup", pickup, missed, took)
	rep.After201 = summarize("pickup-201", after201, missed, took)
	return rep, ids
}

// measureThroughput has every API client create jobs back to back until
// Jobs were created or JobsFor passed, and waits for them to finish; their
// turnaround and rate are worked out once they are read back (timeJobs).
func measureThroughput(ctx context.Context, cfg JobsConfig) (ThroughputReport, []string) {
	rep := ThroughputReport{Clients: len(cfg.APIs), CreateBatch: max(1, cfg.CreateBatch)}
	cpu := hubCPU(cfg.Metrics, cfg.Fleet.Errors)
	var treeBefore map[string]float64
	if cfg.Tree != nil {
		treeBefore = cfg.Tree()
	}
	var walBefore WALStats
	walErr := errors.New("not measured")
	if cfg.WAL != nil {
		walBefore, walErr = cfg.WAL()
	}
	start := time.Now()
	more := func() bool {
		return ctx.Err() == nil && (cfg.JobsFor <= 0 || time.Since(start) < cfg.JobsFor)
	}
	size := max(1, cfg.CreateBatch)
	var issued atomic.Int64
	var mu sync.Mutex
	var made []creation
	failed := 0 // jobs, not requests: a failed batch fails all of its jobs
	var wg sync.WaitGroup
	for _, api := range cfg.APIs {
		wg.Go(func() {
			for more() {
				n := nextBatch(&issued, size, cfg.Jobs)
				if n == 0 {
					return
				}
				var cs []creation
				var err error
				if size == 1 {
					var c creation
					c, err = createJob(api, cfg.Job, cfg.Fleet.Errors)
					cs = []creation{c}
				} else {
					cs, err = createJobs(api, cfg.Job, n, cfg.Fleet.Errors)
				}
				mu.Lock()
				if err != nil {
					failed += n
				} else {
					made = append(made, cs...)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ids := jobIDs(made)
	waitFinished(ctx, cfg.Fleet, ids, cfg.FinishTimeout)
	rep.HubCPU = cpu()
	if treeBefore != nil {
		rep.TreeCPU = CPUSpent(treeBefore, cfg.Tree())
	}
	if walErr == nil {
		if after, err := cfg.WAL(); err == nil {
			rep.wal = &[2]WALStats{walBefore, after}
		}
	}
	rep.made, rep.took = made, time.Since(start)
	var create []time.Duration
	var lastGot time.Time
	for _, c := range made {
		create = append(create, c.Got.Sub(c.Sent))
		lastGot = later(lastGot, c.Got)
	}
	rep.Created = len(made)
	rep.CreatesPerSecond = perSecond(rep.Created, firstSent(made), lastGot)
	rep.Create = summarize("create", create, failed, rep.took)
	return rep, ids
}

// timeJobs works out the part's turnaround and rate from when each job
// finished: its finished_at in the Hub, read back by verify.
func (rep *ThroughputReport) timeJobs(finished map[string]time.Time) {
	var turnaround []time.Duration
	var lastDone time.Time
	for _, c := range rep.made {
		if done, ok := finished[c.ID]; ok {
			turnaround = append(turnaround, done.Sub(c.Sent))
			lastDone = later(lastDone, done)
		}
	}
	first := firstSent(rep.made)
	rep.Finished = len(turnaround)
	if !lastDone.IsZero() {
		rep.Elapsed = lastDone.Sub(first)
	}
	rep.JobsPerSecond = perSecond(rep.Finished, first, lastDone)
	rep.CPUPer1000 = PerThousand(rep.HubCPU, rep.Finished)
	rep.CPUPerJob = CPUPerOp(rep.TreeCPU, rep.Finished)
	if rep.wal != nil {
		per := rep.wal[1].perJob(rep.wal[0], rep.Finished)
		rep.PostgresPerJob = &per
	}
	rep.Turnaround = summarize("turnaround", turnaround, len(rep.made)-len(turnaround), rep.took)
}

func firstSent(made []creation) time.Time {
	var first time.Time
	for _, c := range made {
		if first.IsZero() || c.Sent.Before(first) {
			first = c.Sent
		}
	}
	return first
}

func jobIDs(made []creation) []string {
	ids := make([]string, len(made))
	for i, c := range made {
		ids[i] = c.ID
	}
	return ids
}

// waitFinished waits until the fleet has finished every job of ids, giving
// up when it finished none for idle, or when ctx ends.
func waitFinished(ctx context.Context, f *Fleet, ids []string, idle time.Duration) {
	seen, progress := f.Finished(), time.Now()
	for next := 0; next < len(ids); {
		if _, ok := f.FinishedAt(ids[next]); ok {
			next++
			continue
		}
		if n := f.Finished(); n != seen {
			seen, progress = n, time.Now()
		}
		if ctx.Err() != nil || time.Since(progress) > idle {
			return
		}
		pause(ctx, 10*time.Millisecond)
	}
}

// hubCPU starts measuring the CPU the Hub's processes spend; the function
// it returns gives the seconds spent since (0 without metrics URLs). A
// failed scrape is counted in errs under "metrics".
func hubCPU(s Scrape, errs *Errors) func() float64 {
	spent := StartCPU(s)
	return func() float64 {
		seconds, err := spent()
		if err != nil {
			errs.Add("metrics", "network")
		}
		return seconds
	}
}

// resultsInFlight is how long verify reads a job again that is not yet
// finished: a runner's last result rides on a claim the Hub may not have
// read when the runner counts the job done.
const resultsInFlight = 5 * time.Second

// verify reads every job back through the API (as many readers as there
// are API clients) and counts their statuses. A job not yet finished is
// read again, until resultsInFlight after verify began.
func verify(ctx context.Context, apis []*hubclient.Client, ids []string, errs *Errors) Verification {
	v := Verification{Statuses: map[string]int{}, finished: map[string]time.Time{}}
	next := make(chan string)
	var mu sync.Mutex
	var wg sync.WaitGroup
	settled := time.Now().Add(resultsInFlight)
	for _, api := range apis {
		wg.Go(func() {
			for id := range next {
				var job runners.Job
				var err error
				for {
					err = api.JSON(http.MethodGet, "/api/v1/jobs/"+url.PathEscape(id), nil, &job)
					if err != nil || runners.JobFinal(job.Status) || !time.Now().Before(settled) || ctx.Err() != nil {
						break
					}
					pause(ctx, 20*time.Millisecond)
				}
				mu.Lock()
				if err != nil {
					errs.Add("verify", apiReason(err))
					v.Statuses["unreadable"]++
				} else {
					v.Statuses[job.Status]++
					if job.Status == runners.JobSucceeded && job.FinishedAt != nil {
						v.finished[id] = *job.FinishedAt
					}
				}
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		next <- id
	}
	close(next)
	wg.Wait()
	for _, n := range v.Statuses {
		v.Checked += n
	}
	v.Succeeded = v.Statuses[runners.JobSucceeded]
	v.NotSucceeded = v.Checked - v.Succeeded
	return v
}
