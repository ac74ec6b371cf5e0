package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// FailoverTarget is the target of the failover part: the claims a killed
// runners instance held are answered by another within it.
const FailoverTarget = 5 * time.Second

// Gateway metrics the failover part reads (docs/operations.md).
const (
	metricInstances = "exekra_gateway_runners_instances"
	metricSentAgain = "exekra_gateway_claims_sent_again_total"
)

// FailoverConfig says how to run the failover part.
type FailoverConfig struct {
	// Fleet are the runners, each holding a long-poll claim (the agent's
	// wait) when an instance is killed. RunFailover sets its OneJob: a new
	// claim sent to the killed instance would find no responder there and
	// move every claim it held at once; without one the claims move when
	// its announcements lapse, the slowest case, which is measured.
	Fleet *Fleet
	// APIs create the jobs, one per runner, targeted at it, side by side.
	APIs []*hubclient.Client
	Job  runners.CreateJobRequest // what every job runs, and where (RunnerID is set per job)
	// Instances is how many runners instances the gateway must know before
	// Kill (the killed one and at least one other).
	Instances int
	// Kill kills one runners instance outright (SIGKILL), as a host lost.
	Kill    func() error
	Metrics Scrape // the gateway's /metrics among them
}

// FailoverReport is what the failover part measured.
type FailoverReport struct {
	Runners int
	// Answered is, for each job, kill → its claim reply at its runner.
	Answered Result
	// Moved is how many claims the gateways sent to another instance
	// meanwhile (exekra_gateway_claims_sent_again_total): those the killed
	// instance held.
	Moved int
	// Verify is every job read back: each must have succeeded.
	Verify Verification
	Errors map[string]map[string]int
	// RepeatedClaims are claims a gateway asked to be repeated (not errors).
	RepeatedClaims int
}

// RunFailover has every runner of the fleet hold a claim, waits until the
// gateway knows cfg.Instances runners instances, kills one (cfg.Kill) and
// at once creates one job per runner, targeted at it: a runner whose claim
// the killed instance held gets its job only once a gateway has sent that
// claim to another instance. It measures kill → job at the runner for
// every job, and reads every job back.
func RunFailover(ctx context.Context, cfg FailoverConfig) (FailoverReport, error) {
	rep := FailoverReport{Runners: len(cfg.Fleet.Runners)}
	if err := waitGauge(ctx, cfg.Metrics, metricInstances, float64(cfg.Instances), time.Minute); err != nil {
		return rep, err
	}
	cfg.Fleet.OneJob = true
	fleetCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { cfg.Fleet.Run(fleetCtx, nil) })
	// Each runner ends after its job; one whose job never came is dropped
	// here, and its claim holds no job.
	defer func() { cancel(); wg.Wait() }()
	if err := waitAllWaiting(ctx, cfg.Fleet, time.Minute); err != nil {
		return rep, err
	}
	pause(ctx, settle) // the claims on the wire reach their instances
	movedBefore, err := MetricSum(http.DefaultClient, cfg.Metrics, metricSentAgain)
	if err != nil {
		return rep, err
	}
	killed := time.Now()
	if err := cfg.Kill(); err != nil {
		return rep, fmt.Errorf("kill a runners instance: %w", err)
	}
	ids, failed := createTargeted(cfg)
	waitFinished(ctx, cfg.Fleet, ids, runners.MaxClaimWaitSeconds*time.Second)
	took := time.Since(killed)
	var answered []time.Duration
	missed := failed
	for _, id := range ids {
		if at, ok := cfg.Fleet.ClaimedAt(id); ok {
			answered = append(answered, at.Sub(killed))
		} else {
			missed++
		}
	}
	rep.Answered = summarize("failover", answered, missed, took)
	movedAfter, err := MetricSum(http.DefaultClient, cfg.Metrics, metricSentAgain)
	if err != nil {
		return rep, err
	}
	rep.Moved = int(movedAfter - movedBefore)
	rep.Verify = verify(ctx, cfg.APIs, ids, cfg.Fleet.Errors)
	rep.Errors = cfg.Fleet.Errors.Snapshot()
	rep.RepeatedClaims = cfg.Fleet.Repeated()
	return rep, ctx.Err()
}

// createTargeted creates one job per runner of the fleet, targeted at it,
// the APIs side by side; it returns the jobs made and how many creations
// failed (counted in the fleet's Errors).
func createTargeted(cfg FailoverConfig) ([]string, int) {
	next := make(chan string)
	var mu sync.Mutex
	var ids []string
	failed := 0
	var wg sync.WaitGroup
	for _, api := range cfg.APIs {
		wg.Go(func() {
			for runner := range next {
				req := cfg.Job
				req.RunnerID = runner
				c, err := createJob(api, req, cfg.Fleet.Errors)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					ids = append(ids, c.ID)
				}
				mu.Unlock()
			}
		})
	}
	for _, r := range cfg.Fleet.Runners {
		next <- r.ID
	}
	close(next)
	wg.Wait()
	return ids, failed
}

// waitGauge waits until the sum of metric over s's URLs is at least want.
func waitGauge(ctx context.Context, s Scrape, metric string, want float64, within time.Duration) error {
	var got float64
	var err error
	return waitUntil(ctx, within, 200*time.Millisecond, func() bool {
		got, err = MetricSum(http.DefaultClient, s, metric)
		return err == nil && got >= want
	}, func() error {
		return fmt.Errorf("%s is %v (%v) after %s; want %v", metric, got, err, within, want)
	})
}

// FailoverRow is the failover part's row: its p50 and p99 are kill → job
// at the runner; its errors are the failed calls, the jobs that never
// reached their runner and those read back as not succeeded.
func FailoverRow(rep FailoverReport, instances int) BenchRow {
	row := BenchRowOf(rep.Answered, fmt.Sprintf("kill 1 of %d", instances), false)
	row.PerSecond = 0 // one burst after the kill, not a rate
	row.Errors += rep.Verify.NotSucceeded
	for op, reasons := range rep.Errors {
		if op == "create" || op == "verify" { // already among the jobs not made, or not succeeded
			continue
		}
		for _, n := range reasons {
			row.Errors += n
		}
	}
	row.Max, row.Moved = rep.Answered.Max, rep.Moved
	return row
}

// FailoverNote is one line on the failover part.
func FailoverNote(rep FailoverReport) string {
	return fmt.Sprintf("failover: %d runners each holding a claim; one runners instance killed (SIGKILL); %d claims it held were sent to another instance; every runner's job reached it at most %s after the kill (p50 %s); %d claims the busy Hub asked to repeat; %d of %d jobs read back succeeded",
		rep.Runners, rep.Moved, rep.Answered.Max.Round(time.Millisecond), rep.Answered.P50.Round(time.Millisecond),
		rep.RepeatedClaims, rep.Verify.Succeeded, rep.Verify.Checked)
}
