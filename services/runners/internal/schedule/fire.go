package schedule

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/firetime"
)

// maxWalk bounds the fire times one catch-up walks one by one (an
// every-second schedule after a day down has 86,400 of them).
const maxWalk = 100_000

// Run fires the due schedules every Tick until ctx ends.
func (s *Service) Run(ctx context.Context) {
	tick := time.NewTicker(s.Tick)
	defer tick.Stop()
	for {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "fire schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Step is one round of the fire loop: it fires what is due (in batches),
// takes over the pending fires whose lease ended, and starts the queued
// fires whose previous job ended.
func (s *Service) Step(ctx context.Context) error {
	now := s.now()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for range 20 { // at most 10,000 schedules a round; the next round goes on
		var plans []Plan
		firings, taken, err := s.Store.FireDue(ctx, now, DueBatch, func(d Due) Plan {
			p := s.plan(ctx, d, now)
			plans = append(plans, p)
			return p
		})
		if err != nil {
			keep(wrapf(err, "fire due schedules"))
			break
		}
		s.count(plans)
		s.fire(ctx, firings)
		if taken < DueBatch {
			break
		}
	}
	firings, err := s.Store.TakeExpired(ctx, now, now.Add(FireLease), DueBatch)
	keep(wrapf(err, "take over expired fires"))
	s.fire(ctx, firings)
	firings, err = s.Store.PromoteQueued(ctx, now.Add(FireLease), QueuedBatch)
	keep(wrapf(err, "start queued fires"))
	s.fire(ctx, firings)
	return first
}

// count counts the fires the plans decided at once (the pending ones are
// counted when their job is made).
func (s *Service) count(plans []Plan) {
	for _, p := range plans {
		for _, f := range p.Fires {
			if f.Outcome != runners.FirePending {
				s.Meter.Fire(f.Outcome)
			}
		}
	}
}

// plan decides what a due schedule's fire times come to at now.
func (s *Service) plan(ctx context.Context, d Due, now time.Time) Plan {
	sc := d.Schedule
	p := Plan{LeaseUntil: now.Add(FireLease), State: runners.ScheduleEnded}
	r, err := s.ruleOf(sc)
	if err != nil || sc.NextFireAt == nil { // cannot be: it was checked when saved
		s.Log.ErrorContext(ctx, "schedule no longer parses; it is ended", "schedule_id", sc.ID, "err", err)
		return p
	}
	w := walk(sc, r, *sc.NextFireAt, now, now.Add(-s.MisfireGrace))
	if w.next != nil {
		p.NextFireAt, p.State = w.next, runners.ScheduleActive
	}
	record := func(t time.Time, outcome, reason string) {
		p.Fires = append(p.Fires, runners.ScheduleFire{ScheduleID: sc.ID, ScheduleName: sc.Name, FireTime: t,
			Kind: runners.FireScheduled, Outcome: outcome, Reason: reason, RecordedAt: now})
	}
	candidates := w.times
	if now.Sub(*sc.NextFireAt) > s.MisfireGrace {
		// A catch-up after downtime is settled as one: fire_once starts one
		// job, for the latest time missed by more than the grace; every
		// other time up to now is missed.
		missed := w.times
		candidates = nil
		if sc.Misfire == runners.MisfireFireOnce {
			late := w.lastLate
			missed = slices.DeleteFunc(slices.Clone(missed), func(t time.Time) bool { return t.Equal(late) })
			candidates = []time.Time{late}
			if len(missed) == len(w.times) && w.more > 0 {
				w.more-- // it was among those not listed
			}
		}
		for i, t := range missed {
			reason := "no runners service was running at the fire time"
			if candidates != nil && t.After(candidates[0]) {
				reason = fmt.Sprintf("caught up after downtime: the missed fire time %s ran once for them (misfire fire_once)",
					candidates[0].Format(time.RFC3339))
			}
			if i == len(missed)-1 && w.more > 0 {
				reason += fmt.Sprintf("; %d later fire times up to %s were missed too and are not listed one by one",
					w.more, now.Format(time.RFC3339))
			}
			record(t, runners.FireMissed, reason)
		}
	}
	busy := w.liveReason(d)
	queued := d.Queued
	zones := map[string]*time.Location{}
	for _, t := range candidates {
		if c, date := skippedBy(d.Calendars, zones, t); c != "" {
			record(t, runners.FireSkippedCalendar, fmt.Sprintf("%s is a non-working day of calendar %s", date, c))
			continue
		}
		switch {
		case sc.Concurrency == runners.ConcurrencyAllow:
			record(t, runners.FirePending, "")
		case sc.Concurrency == runners.ConcurrencyQueue && (busy != "" || queued > 0):
			if queued >= runners.MaxQueuedFires {
				record(t, runners.FireSkippedConcurrency, fmt.Sprintf("queue full: %d fires already wait", queued))
				continue
			}
			record(t, runners.FireQueued, "")
			queued++
		case busy != "":
			record(t, runners.FireSkippedConcurrency, busy)
		default:
			record(t, runners.FirePending, "")
			busy = "the fire before it was still starting its job"
		}
	}
	return p
}

// walked is the fire times from a schedule's next fire time up to now.
type walked struct {
	times    []time.Time // the first of them (at most MaxMissedRecorded)
	lastLate time.Time   // the latest of them before the grace
	more     int         // how many are not in times
	next     *time.Time  // the first after now (nil: the schedule has ended)
}

// walk lists sc's fire times from from up to now; those before graceStart
// are late.
func walk(sc runners.Schedule, r firetime.Rule, from, now, graceStart time.Time) walked {
	var w walked
	t, ok, n := from, true, 0
	for ; ok && !t.After(now) && n < maxWalk; n++ {
		if len(w.times) < runners.MaxMissedRecorded {
			w.times = append(w.times, t)
		} else {
			w.more++
		}
		if t.Before(graceStart) {
			w.lastLate = t
		}
		t, ok = nextAfter(sc, r, t)
	}
	if ok && !t.After(now) { // more than maxWalk behind: jump to now
		if last, found := latestUpTo(sc, r, graceStart.Add(-time.Microsecond)); found && last.After(w.lastLate) {
			w.lastLate = last
		}
		w.more += int(now.Sub(t)/time.Second) / max(sc.IntervalSeconds, 1) // an estimate for cron
		t, ok = nextAfter(sc, r, now)
	}
	if ok {
		w.next = &t
	}
	return w
}

// latestUpTo is the latest fire time at or before now, looked for in
// windows doubling back from now.
func latestUpTo(sc runners.Schedule, r firetime.Rule, now time.Time) (time.Time, bool) {
	for back := time.Second; back < 400*24*time.Hour; back *= 2 {
		t, ok := nextAfter(sc, r, now.Add(-back))
		if !ok || t.After(now) {
			continue
		}
		for {
			u, ok := nextAfter(sc, r, t)
			if !ok || u.After(now) {
				return t, true
			}
			t = u
		}
	}
	return time.Time{}, false
}

// liveReason says why the schedule is busy with an earlier fire ("": it is not).
func (w walked) liveReason(d Due) string {
	switch {
	case d.Pending > 0:
		return "the fire before it was still starting its job"
	case d.LastJobStatus == runners.JobPending || d.LastJobStatus == runners.JobClaimed || d.LastJobStatus == runners.JobRunning:
		return "the previous job was still " + d.LastJobStatus
	}
	return ""
}

// skippedBy names the first calendar whose non-working days hold t's date
// in its time zone, and the date.
func skippedBy(cals []runners.Calendar, zones map[string]*time.Location, t time.Time) (string, string) {
	for _, c := range cals {
		loc, ok := zones[c.TimeZone]
		if !ok {
			var err error
			if loc, err = firetime.LoadLocation(c.TimeZone); err != nil || c.TimeZone == "UTC" {
				loc = time.UTC
			}
			zones[c.TimeZone] = loc
		}
		date := t.In(loc).Format(time.DateOnly)
		if _, found := slices.BinarySearch(c.Dates, date); found {
			return c.Name, date
		}
	}
	return "", ""
}

// IdempotencyKey is the key a fire's job is created under: one job per
// schedule and fire time, however often it is tried.
func IdempotencyKey(scheduleID string, fireTime time.Time) string {
	return "schedule:" + scheduleID + ":" + strconv.FormatInt(fireTime.UnixNano(), 10)
}

// fire turns pending fires into jobs, Workers at once, and records the
// outcomes. A fire whose job failed for a reason the user can act on
// fails; one that failed otherwise stays pending, and is taken over when
// its lease ends.
func (s *Service) fire(ctx context.Context, firings []Firing) {
	if len(firings) == 0 {
		return
	}
	done := make([]Finished, len(firings))
	ok := make([]bool, len(firings))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(Workers, len(firings)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				done[i], ok[i] = s.startJob(ctx, firings[i])
			}
		}()
	}
	for i := range firings {
		next <- i
	}
	close(next)
	wg.Wait()
	var out []Finished
	for i, f := range done {
		if ok[i] {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return
	}
	if err := s.Store.FinishFires(ctx, out); err != nil {
		s.Log.WarnContext(ctx, "record fires (their leases end and they are tried again)", "fires", len(out), "err", err)
		return
	}
	for _, f := range out {
		s.Meter.Fire(f.Outcome)
		if f.Outcome == runners.FireJobCreated {
			s.Meter.FireLag(f.RecordedAt.Sub(f.FireTime))
		}
	}
}

func (s *Service) startJob(ctx context.Context, f Firing) (Finished, bool) {
	spec := f.Spec
	spec.ScheduledFor = f.Fire.FireTime
	spec.IdempotencyKey = IdempotencyKey(f.Fire.ScheduleID, f.Fire.FireTime)
	jobID, err := s.Jobs.StartScheduled(ctx, spec)
	out := Finished{ScheduleID: f.Fire.ScheduleID, FireTime: f.Fire.FireTime, RecordedAt: s.now()}
	switch {
	case err == nil:
		out.Outcome, out.JobID = runners.FireJobCreated, jobID
	case userError(err):
		out.Outcome, out.Reason = runners.FireFailed, message(err)
	default:
		if ctx.Err() == nil {
			s.Log.WarnContext(ctx, "start a fire's job (tried again when its lease ends)", "schedule_id", f.Fire.ScheduleID,
				"fire_time", f.Fire.FireTime, "err", err)
		}
		return out, false
	}
	return out, true
}
