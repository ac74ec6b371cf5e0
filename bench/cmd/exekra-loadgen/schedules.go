package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/exekra/hub/bench/internal/loadgen"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// restSpan is how long the Hub's CPU at rest is measured, before the
// schedules are created.
const restSpan = 10 * time.Second

func runSchedules(ctx context.Context, stdout io.Writer, api *hubclient.Client, o options) error {
	rep, err := measureSchedules(ctx, api, o)
	if err != nil {
		return err
	}
	loadgen.PrintSchedules(stdout, rep)
	return nil
}

// measureSchedules runs the schedules scenario: it publishes the no-op
// package, measures the Hub's CPU at rest for restSpan, creates
// o.schedules schedules firing once a minute (spread over the seconds of
// the minute, concurrency allow) in o.scheduleEnv, where no simulated
// runner takes their jobs, lets them fire for o.schedulesMeasure, reads the
// fires of that window back and deletes the schedules again (on every way
// out, an interrupt included). The jobs they started are left pending.
func measureSchedules(ctx context.Context, api *hubclient.Client, o options) (rep loadgen.SchedulesReport, err error) {
	pkg, err := loadgen.PublishNoop(api, o.pkg, fmt.Sprintf("1.0.%d", time.Now().Unix()))
	if err != nil {
		return rep, err
	}
	apis := make([]*hubclient.Client, o.clients)
	for i := range apis {
		if apis[i], err = hubclient.New(o.hub, o.token, hubclient.Options{CAFile: o.ca, Timeout: time.Minute}); err != nil {
			return rep, err
		}
	}
	rep = loadgen.SchedulesReport{Schedules: o.schedules, Package: pkg.Name, Version: pkg.Version,
		Environment: o.scheduleEnv, Concurrency: runners.ConcurrencyAllow, Clients: o.clients}
	spec := runners.ScheduleSpec{Description: "exekra-loadgen schedules scenario", Package: pkg.Name, Version: pkg.Version,
		Environment: o.scheduleEnv, TimeZone: "UTC", Concurrency: runners.ConcurrencyAllow}
	errs := &loadgen.Errors{}
	rest := loadgen.StartCPU(o.scrape())
	sleepUntil(ctx, time.Now().Add(restSpan))
	if seconds, err := rest(); err == nil && o.metrics != "" {
		rep.RestCores = seconds / restSpan.Seconds()
	}
	made := loadgen.CreateSchedules(ctx, apis, spec, "loadgen-"+time.Now().UTC().Format("150405"), o.schedules, errs)
	ids := slices.Collect(maps.Keys(made.Seconds))
	// Deleted on every way out; one that cannot be is reported, not fatal
	// to what was measured (it goes on firing: see the report).
	defer func() {
		failed, derr := loadgen.DeleteSchedules(api, ids, o.clients, errs)
		rep.Deleted, rep.DeleteFailed = len(ids)-failed, failed
		if derr != nil {
			rep.DeleteError = derr.Error()
		}
		rep.Errors = errs.Snapshot()
	}()
	rep.Created, rep.Create, rep.CreatesPerSecond = len(ids), made.Create, made.PerSecond
	rep.Offered = float64(len(ids)) / 60
	if len(ids) == 0 {
		return rep, fmt.Errorf("schedules: none could be created (errors: %v)", errs.Snapshot())
	}

	// The window starts on a whole second after the last schedule exists:
	// every schedule is due at each of its fire times in it.
	rep.Since = time.Now().UTC().Truncate(time.Second).Add(2 * time.Second)
	rep.Window = o.schedulesMeasure
	rep.Until = rep.Since.Add(rep.Window - time.Millisecond) // fire times are whole seconds
	sleepUntil(ctx, rep.Since)
	spent := loadgen.StartCPU(o.scrape())
	treeBefore := treeCPU(o.hubPID)
	sleepUntil(ctx, rep.Since.Add(rep.Window))
	hubSeconds, cerr := spent()
	if cerr != nil && o.metrics != "" {
		errs.Add("metrics", "network")
	}
	var tree map[string]float64
	if treeBefore != nil {
		tree = loadgen.CPUSpent(treeBefore, treeCPU(o.hubPID))
	}
	if ctx.Err() != nil {
		return rep, fmt.Errorf("schedules: %w", ctx.Err())
	}
	fires, err := readSettled(ctx, api, rep.Since, rep.Until, made.Seconds)
	if err != nil {
		return rep, err
	}
	rep.Finish(fires, made.Seconds, hubSeconds, tree)
	return rep, nil
}

// readSettled reads the window's fires once the last of them should have
// been decided: while some are still pending or not there yet, it reads
// again, for up to a fire lease (a fire stuck pending longer is taken over
// by another round, which is then what is measured).
func readSettled(ctx context.Context, api *hubclient.Client, since, until time.Time, seconds map[string]int) ([]runners.ScheduleFire, error) {
	sleepUntil(ctx, until.Add(3*time.Second))
	deadline := until.Add(runners.MisfireGraceSeconds * time.Second / 2)
	for {
		fires, err := loadgen.ReadFires(ctx, api, since, until)
		if err != nil {
			return nil, err
		}
		c := loadgen.CheckFires(fires, seconds, since, until)
		if (c.Outcomes[runners.FirePending] == 0 && c.Missing == 0) || time.Now().After(deadline) || ctx.Err() != nil {
			return fires, nil
		}
		sleepUntil(ctx, time.Now().Add(3*time.Second))
	}
}

// treeCPU reads the CPU of the Hub's process tree (nil without --hub-pid,
// or where /proc cannot be read).
func treeCPU(pid int) map[string]float64 {
	if pid <= 0 {
		return nil
	}
	m, err := loadgen.TreeCPU(pid)
	if err != nil {
		return nil
	}
	return m
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

func (o options) checkSchedules() error {
	switch {
	case o.schedules < 1:
		return errors.New("--schedules must be at least 1")
	case o.schedulesMeasure < time.Second:
		return errors.New("--schedules-measure must be at least 1s")
	case o.clients < 1:
		return errors.New("--clients must be at least 1")
	case !slices.Contains(runners.Environments, o.scheduleEnv):
		return fmt.Errorf("--schedules-environment must be one of %v", runners.Environments)
	}
	return nil
}
