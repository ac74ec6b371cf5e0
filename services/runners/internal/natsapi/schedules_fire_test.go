package natsapi_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/schedule"
)

// TestScheduleFiresExactlyOnce runs two fire loops (two instances of the
// service on one database) over every-second schedules while the clock
// advances a second a step: every fire time is recorded once, each fire
// that made a job made its own, and no job is made twice.
func TestScheduleFiresExactlyOnce(t *testing.T) {
	h := newSchedulesHarness(t)
	other := h.scheduleService(t, natsapi.ScheduleJobs(h.jobService(t)))
	var ids []string
	for i, name := range []string{"a", "b", "c", "d"} {
		s := spec("every second "+name, 1)
		s.Concurrency = runners.ConcurrencyAllow
		if i == 3 {
			s.IntervalSeconds, s.Cron = 0, "* * * * * *" // six fields: every second
		}
		ids = append(ids, h.createSchedule(t, s).ID)
	}
	skipper := h.createSchedule(t, spec("every second, one at a time", 1)) // concurrency skip
	ids = append(ids, skipper.ID)

	const steps = 60
	start := time.Now()
	for range steps {
		h.clock.Advance(time.Second)
		var wg sync.WaitGroup
		for _, svc := range []*schedule.Service{h.sched, other, h.sched, other} {
			wg.Go(func() {
				if err := svc.Step(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	elapsed := time.Since(start)

	var made int
	for _, id := range ids {
		fs := h.fires(t, id)
		if len(fs) != steps {
			t.Fatalf("schedule %s: %d fires, want %d: %v", id, len(fs), steps, outcomes(fs))
		}
		jobs := map[string]bool{}
		var created int
		for i, f := range fs {
			if want := t0.Add(time.Duration(i+1) * time.Second); !f.At.Equal(want) {
				t.Fatalf("schedule %s: fire %d at %s, want %s", id, i, f.At, want)
			}
			switch {
			case f.Outcome == runners.FireJobCreated:
				if jobs[f.JobID] {
					t.Fatalf("schedule %s: job %s made by two fires", id, f.JobID)
				}
				jobs[f.JobID] = true
				created++
			case id == skipper.ID && f.Outcome == runners.FireSkippedConcurrency:
			default:
				t.Fatalf("schedule %s: fire %d is %s (%s)", id, i, f.Outcome, f.Reason)
			}
		}
		if n := h.jobsOf(t, id); n != created {
			t.Fatalf("schedule %s: %d jobs, %d fires made one", id, n, created)
		}
		if id == skipper.ID && created != 1 {
			t.Fatalf("the skipping schedule made %d jobs while its first stayed pending", created)
		}
		made += created
	}
	t.Logf("%d fire times of %d schedules, %d jobs, in %s by two loops (%.0f fires/s)", steps*len(ids), len(ids), made,
		elapsed, float64(steps*len(ids))/elapsed.Seconds())
}

// crashingJobs creates the job of the first fire, then fails as if the
// process died before it recorded it.
type crashingJobs struct {
	schedule.Jobs
	crashed atomic.Bool
	calls   atomic.Int64
}

func (c *crashingJobs) StartScheduled(ctx context.Context, spec schedule.JobSpec) (string, error) {
	c.calls.Add(1)
	id, err := c.Jobs.StartScheduled(ctx, spec)
	if err == nil && !c.crashed.Swap(true) {
		return "", errors.New("connection reset by peer")
	}
	return id, err
}

// TestScheduleFireTakenOverAfterACrash: a fire left pending after its job
// was made is taken over when its lease ends, and finds the same job.
func TestScheduleFireTakenOverAfterACrash(t *testing.T) {
	h := newSchedulesHarness(t)
	jobs := &crashingJobs{Jobs: natsapi.ScheduleJobs(h.jobs)}
	crashing := h.scheduleService(t, jobs)
	sc := h.createSchedule(t, spec("hourly", 3600))
	h.clock.Advance(time.Hour)
	if err := crashing.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fs := h.fires(t, sc.ID); len(fs) != 1 || fs[0].Outcome != runners.FirePending || h.jobsOf(t, sc.ID) != 1 {
		t.Fatalf("after the crash: fires %+v, %d jobs", fs, h.jobsOf(t, sc.ID))
	}
	h.advance(t, 10*time.Second) // the lease holds: nobody takes it over
	if fs := h.fires(t, sc.ID); fs[0].Outcome != runners.FirePending || jobs.calls.Load() != 1 {
		t.Fatalf("taken over within its lease: %+v", fs)
	}
	h.advance(t, schedule.FireLease)
	fs := h.fires(t, sc.ID)
	if len(fs) != 1 || fs[0].Outcome != runners.FireJobCreated || h.jobsOf(t, sc.ID) != 1 {
		t.Fatalf("after the take-over: fires %+v, %d jobs", fs, h.jobsOf(t, sc.ID))
	}
	if j := h.getJob(t, fs[0].JobID); j.ScheduledFor == nil || !j.ScheduledFor.Equal(t0.Add(time.Hour)) {
		t.Fatalf("job %+v", j)
	}
	if got := h.getSchedule(t, sc.ID); got.LastFire == nil || got.LastFire.JobID == nil || *got.LastFire.JobID != fs[0].JobID ||
		got.LastFire.LagSeconds == nil || *got.LastFire.LagSeconds < 40 {
		t.Fatalf("last fire %+v", got.LastFire)
	}
}

// TestScheduleMisfire stops the loop for three minutes: fire_once records
// the missed times and fires the latest now; skip records them all and
// fires the next on time.
func TestScheduleMisfire(t *testing.T) {
	h := newSchedulesHarness(t)
	once := spec("misfire once", 10)
	once.Concurrency = runners.ConcurrencyAllow
	skip := spec("misfire skip", 10)
	skip.Concurrency, skip.Misfire = runners.ConcurrencyAllow, runners.MisfireSkip
	a, b := h.createSchedule(t, once), h.createSchedule(t, skip)
	if a.Misfire != runners.MisfireFireOnce {
		t.Fatalf("default misfire %q", a.Misfire)
	}
	h.advance(t, 10*time.Second) // both fire on time
	h.advance(t, 3*time.Minute)  // down from +10 s to +190 s

	// Late by more than the grace: +20 s to +120 s; within it: +130 s to +190 s.
	fa := h.fires(t, a.ID)
	if len(fa) != 19 || h.jobsOf(t, a.ID) != 2 {
		t.Fatalf("fire_once: %d fires %v, %d jobs", len(fa), outcomes(fa), h.jobsOf(t, a.ID))
	}
	for i, f := range fa[1:] {
		want := runners.FireMissed
		if f.At.Equal(t0.Add(120 * time.Second)) {
			want = runners.FireJobCreated
		}
		if f.Outcome != want || !f.At.Equal(t0.Add(time.Duration(20+10*i)*time.Second)) {
			t.Fatalf("fire_once: fire %d is %+v, want %s", i+1, f, want)
		}
	}
	if got := h.getSchedule(t, a.ID).LastFire; got == nil || got.Reason == "" || got.Outcome != runners.FireMissed {
		t.Fatalf("fire_once: last fire %+v", got)
	}
	fb := h.fires(t, b.ID)
	if len(fb) != 19 || h.jobsOf(t, b.ID) != 1 || fb[18].Outcome != runners.FireMissed {
		t.Fatalf("skip: %d fires %v, %d jobs", len(fb), outcomes(fb), h.jobsOf(t, b.ID))
	}
	for _, id := range []string{a.ID, b.ID} {
		if next := h.getSchedule(t, id).NextFireAt; next == nil || !next.Equal(t0.Add(200*time.Second)) {
			t.Fatalf("next fire at %v, want +200 s", next)
		}
	}
	h.advance(t, 10*time.Second) // on time again
	if fb := h.fires(t, b.ID); len(fb) != 20 || fb[19].Outcome != runners.FireJobCreated {
		t.Fatalf("skip: after catching up %v", outcomes(fb))
	}
}

// TestScheduleConcurrency: while the previous job lives, skip skips, queue
// queues (and starts the oldest when it ends) and allow starts beside it.
func TestScheduleConcurrency(t *testing.T) {
	h := newSchedulesHarness(t)
	ids := map[string]string{}
	for _, p := range runners.ConcurrencyPolicies {
		s := spec("concurrency "+p, 10)
		s.Concurrency = p
		ids[p] = h.createSchedule(t, s).ID
	}
	for range 3 {
		h.advance(t, 10*time.Second)
	}
	want := map[string][]string{
		runners.ConcurrencySkip:  {runners.FireJobCreated, runners.FireSkippedConcurrency, runners.FireSkippedConcurrency},
		runners.ConcurrencyQueue: {runners.FireJobCreated, runners.FireQueued, runners.FireQueued},
		runners.ConcurrencyAllow: {runners.FireJobCreated, runners.FireJobCreated, runners.FireJobCreated},
	}
	for p, id := range ids {
		if got := outcomes(h.fires(t, id)); !equal(got, want[p]) {
			t.Fatalf("%s: %v, want %v", p, got, want[p])
		}
	}
	if fs := h.fires(t, ids[runners.ConcurrencySkip]); fs[1].Reason != "the previous job was still pending" {
		t.Fatalf("skip reason %q", fs[1].Reason)
	}
	first := h.fires(t, ids[runners.ConcurrencyQueue])[0].JobID
	must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobCancel, runners.JobRequest{ID: first}))
	h.step(t)
	fs := h.fires(t, ids[runners.ConcurrencyQueue])
	if got := outcomes(fs); !equal(got, []string{runners.FireJobCreated, runners.FireJobCreated, runners.FireQueued}) {
		t.Fatalf("queue after the first job ended: %v", got)
	}
	if j := h.getJob(t, fs[1].JobID); j.ScheduledFor == nil || !j.ScheduledFor.Equal(t0.Add(20*time.Second)) {
		t.Fatalf("queued job %+v", j)
	}
	h.step(t) // its job lives: the next stays queued
	if got := outcomes(h.fires(t, ids[runners.ConcurrencyQueue])); got[2] != runners.FireQueued {
		t.Fatalf("queue: %v", got)
	}
	for range runners.MaxQueuedFires + 1 {
		h.advance(t, 10*time.Second)
	}
	fs = h.fires(t, ids[runners.ConcurrencyQueue])
	if last := fs[len(fs)-1]; last.Outcome != runners.FireSkippedConcurrency || last.Reason != "queue full: 10 fires already wait" {
		t.Fatalf("queue full: %+v", last)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestScheduleCalendarSkips: a fire time on a calendar's date is skipped
// and makes no job; the next fires show it; a calendar in use cannot go.
func TestScheduleCalendarSkips(t *testing.T) {
	h := newSchedulesHarness(t)
	cal := must[runners.Calendar](t)(call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarCreate,
		runners.CalendarSpec{Name: "Holidays", TimeZone: "Pacific/Kiritimati", Dates: []string{"2026-06-02", "2026-01-01", "2026-06-02"}}))
	if !equal(cal.Dates, []string{"2026-01-01", "2026-06-02"}) || cal.TimeZone != "Pacific/Kiritimati" {
		t.Fatalf("calendar %+v", cal)
	}
	// 10:00 UTC on June 1st is midnight starting June 2nd on Kiritimati (UTC+14): a holiday there.
	s := spec("weekday report", 3600)
	s.CalendarIDs = []string{cal.ID}
	sc := h.createSchedule(t, s)
	next := must[runners.NextFires](t)(call[runners.NextFires](as(operator), h.harness, runners.SubjectScheduleNext,
		runners.NextFiresRequest{ID: sc.ID, Count: 5}))
	if len(next.Items) != 5 || next.Items[0].SkippedByCalendar == nil || *next.Items[0].SkippedByCalendar != "Holidays" ||
		next.Items[0].Local != "2026-06-01T10:00:00Z" || next.Items[1].SkippedByCalendar == nil || next.Items[4].SkippedByCalendar == nil {
		t.Fatalf("next fires %+v", next)
	}
	h.advance(t, time.Hour)
	fs := h.fires(t, sc.ID)
	if len(fs) != 1 || fs[0].Outcome != runners.FireSkippedCalendar || fs[0].Reason != "2026-06-02 is a non-working day of calendar Holidays" ||
		h.jobsOf(t, sc.ID) != 0 {
		t.Fatalf("fires %+v, %d jobs", fs, h.jobsOf(t, sc.ID))
	}
	_, err := call[runners.CalendarDeleted](as(developer), h.harness, runners.SubjectCalendarDelete, runners.CalendarRequest{ID: cal.ID})
	wantError(t, err, "conflict", `"weekday report"`)
	must[runners.ScheduleDeleted](t)(call[runners.ScheduleDeleted](as(developer), h.harness, runners.SubjectScheduleDelete,
		runners.ScheduleRequest{ID: sc.ID}))
	must[runners.CalendarDeleted](t)(call[runners.CalendarDeleted](as(developer), h.harness, runners.SubjectCalendarDelete,
		runners.CalendarRequest{ID: cal.ID}))
}
