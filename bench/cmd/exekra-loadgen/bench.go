package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/exekra/hub/bench/internal/loadgen"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// closedLoad names a closed-loop row's load.
func closedLoad(clients int) string { return fmt.Sprintf("closed %d", clients) }

// measureClosed warms up, then measures call at o.concurrency clients for
// o.measure, with the Hub's CPU over the measured span.
func measureClosed(ctx context.Context, o options, op string, call func(context.Context, int) error) (loadgen.BenchRow, error) {
	if o.warmup > 0 {
		loadgen.ClosedLoop(ctx, op, o.concurrency, o.warmup, call)
	}
	sc := o.scrape()
	spent := loadgen.StartCPU(sc)
	res := loadgen.ClosedLoop(ctx, op, o.concurrency, o.measure, call)
	seconds, err := spent()
	if ctx.Err() != nil {
		return loadgen.BenchRow{}, fmt.Errorf("%s: %w", op, ctx.Err())
	}
	if len(sc.URLs) > 0 && err == nil {
		res.HubCPU, res.CPUPer1000 = seconds, loadgen.PerThousand(seconds, res.Requests-res.Errors)
	}
	return loadgen.BenchRowOf(res, closedLoad(o.concurrency), true), nil
}

// measureFloor starts the floor in this process and measures it.
func measureFloor(ctx context.Context, o options) (row loadgen.BenchRow, err error) {
	f, err := loadgen.StartFloor(ctx, o.natsURL, o.natsCredentials, o.databaseURL, o.dbMaxConns)
	if err != nil {
		return row, err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return measureClosed(ctx, o, "floor", func(ctx context.Context, client int) error {
		id := (client*7919)%loadgen.FloorRows + 1 // spread the clients over the rows
		return loadgen.Get(ctx, f.Client, fmt.Sprintf("%s%d", f.URL, id), "")
	})
}

// measureAPIReads registers one runner, has it send a heartbeat (as a
// connected runner, the one people look at, has done) and has
// o.concurrency clients read it through the API.
func measureAPIReads(ctx context.Context, api *hubclient.Client, o options) (loadgen.BenchRow, error) {
	regs, err := register(api, 1)
	defer cleanup(api, regs)
	if err != nil {
		return loadgen.BenchRow{}, err
	}
	client, err := httpClient(o.ca, o.concurrency, 30*time.Second)
	if err != nil {
		return loadgen.BenchRow{}, err
	}
	sim, err := loadgen.NewRunner(o.hub, regs[0].id, regs[0].secret, client, false)
	if err != nil {
		return loadgen.BenchRow{}, err
	}
	if _, err := loadgen.Heartbeat(ctx, sim); err != nil {
		return loadgen.BenchRow{}, fmt.Errorf("heartbeat of the runner read: %w", err)
	}
	url := o.hub + runners.RunnerPath(regs[0].id)
	return measureClosed(ctx, o, "api-reads", func(ctx context.Context, _ int) error {
		return loadgen.Get(ctx, client, url, o.token)
	})
}

// runBench runs the floor, API reads, heartbeats (o.runners), jobs
// (o.jobRunners) and schedules (o.schedules, unless 0) and prints them
// against the floor and the performance targets, and the saturation
// verdict when o.saturated > 0.
func runBench(ctx context.Context, stdout io.Writer, api *hubclient.Client, o options) error {
	step := func(what string) {
		fmt.Fprintf(stdout, "bench: %s (%s)\n", what, time.Now().UTC().Format(time.TimeOnly))
	}
	step(fmt.Sprintf("floor, %d clients for %s", o.concurrency, o.measure))
	floor, err := measureFloor(ctx, o)
	if err != nil {
		return err
	}
	step(fmt.Sprintf("api-reads, %d clients for %s", o.concurrency, o.measure))
	reads, err := measureAPIReads(ctx, api, o)
	if err != nil {
		return err
	}
	if o.scenario == "reads" {
		fmt.Fprintln(stdout)
		rows := loadgen.CompareToFloor(floor, []loadgen.BenchRow{floor, reads})
		loadgen.PrintBench(stdout, loadgen.WithSaturation(rows, o.saturated, 0))
		return nil
	}
	settle(ctx, stdout, o)
	step(fmt.Sprintf("heartbeat, %d runners every %s for %s", o.runners, o.interval, o.duration))
	hb, err := measureHeartbeats(ctx, api, o)
	if err != nil {
		return err
	}
	settle(ctx, stdout, o)
	step(fmt.Sprintf("jobs, %d runners: %d pickup jobs, then %d jobs from %d clients, %d per create request", o.jobRunners, o.pickupJobs, o.jobs, o.clients, o.createBatch))
	jo := o
	jo.runners = o.jobRunners
	jobs, err := measureJobs(ctx, api, jo)
	if err != nil {
		return err
	}
	rows := append([]loadgen.BenchRow{floor, reads, heartbeatRow(hb, o)}, jobRows(jobs)...)
	var sched *loadgen.SchedulesReport
	if o.schedules > 0 {
		settle(ctx, stdout, o)
		step(fmt.Sprintf("schedules, %d firing every minute for %s (jobs in %s, not run)", o.schedules, o.schedulesMeasure, o.scheduleEnv))
		rep, err := measureSchedules(ctx, api, o)
		if err != nil {
			return err
		}
		sched = &rep
		rows = append(rows, loadgen.SchedulesRows(rep)...)
	}
	var failover *loadgen.FailoverReport
	if o.failoverInstance != "" {
		settle(ctx, stdout, o)
		step(fmt.Sprintf("failover, %d runners holding claims across %d runners instances, one killed", o.failoverRunners, failoverInstances))
		rep, err := measureFailover(ctx, api, o)
		if err != nil {
			return err
		}
		failover = &rep
		rows = append(rows, loadgen.FailoverRow(rep, failoverInstances))
	}
	fmt.Fprintln(stdout)
	rows = loadgen.CompareToFloor(floor, rows)
	// The failover row counts its jobs not succeeded among its errors.
	loadgen.PrintBench(stdout, loadgen.WithSaturation(rows, o.saturated, jobs.Verify.NotSucceeded))
	fmt.Fprintln(stdout, loadgen.HeartbeatNote(hb, o.runners))
	if v := jobs.Verify; v.NotSucceeded > 0 {
		fmt.Fprintf(stdout, "jobs: %d of %d jobs read back did not succeed\n", v.NotSucceeded, v.Checked)
	}
	if sched != nil {
		fmt.Fprintln(stdout, loadgen.SchedulesNote(*sched))
	}
	if failover != nil {
		fmt.Fprintln(stdout, loadgen.FailoverNote(*failover))
	}
	return nil
}

// heartbeatRow counts the runners' failed claims among its errors: the
// target is heartbeats with every runner's long poll open, and no errors.
// settle waits, up to a minute, until the Hub's processes are quiet (under
// a tenth of a core over 2 s), so that a part does not measure the tail of
// the one before: the previous part's runners being deleted, their audit
// events relayed and stored.
func settle(ctx context.Context, stdout io.Writer, o options) {
	sc := o.scrape()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		spent := loadgen.StartCPU(sc)
		time.Sleep(2 * time.Second)
		if seconds, err := spent(); err != nil || seconds/2 < 0.1 {
			return
		}
	}
	fmt.Fprintln(stdout, "bench: the Hub did not settle within a minute; going on")
}

func heartbeatRow(r loadgen.Result, o options) loadgen.BenchRow {
	rate := float64(o.runners) / o.interval.Seconds()
	row := loadgen.BenchRowOf(r, fmt.Sprintf("open %.0f/s", rate), false)
	row.Errors += r.ClaimErrors
	row.HubMemory = r.HubMemory
	row.Runners = o.runners
	return row
}

// jobRows are the jobs scenario's rows: pickup (paced, every runner
// waiting), create (closed, --clients), and created→succeeded.
func jobRows(rep loadgen.JobsReport) []loadgen.BenchRow {
	p, t := rep.Pickup, rep.Throughput
	pickup := loadgen.BenchRowOf(p.Pickup, fmt.Sprintf("open %.0f/s", 1/p.Every.Seconds()), false)
	pickup.HubCPU = loadgen.PerThousand(p.HubCPU, p.Pickup.Requests-p.Pickup.Errors)
	create := loadgen.BenchRowOf(t.Create, closedLoad(t.Clients), true)
	create.Operation, create.PerSecond = "job-create", t.CreatesPerSecond
	e2e := loadgen.BenchRowOf(t.Turnaround, closedLoad(t.Clients), true)
	e2e.Operation, e2e.PerSecond, e2e.HubCPU, e2e.CPUPerOp = "jobs-e2e", t.JobsPerSecond, t.CPUPer1000, t.CPUPerJob
	return []loadgen.BenchRow{pickup, create, e2e}
}
