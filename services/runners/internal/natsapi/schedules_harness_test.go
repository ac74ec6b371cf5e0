package natsapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/runners/internal/natsapi"
	"github.com/exekra/hub/services/runners/internal/postgres"
	"github.com/exekra/hub/services/runners/internal/prom"
	"github.com/exekra/hub/services/runners/internal/schedule"
)

// schedulesHarness is the jobs harness with the schedules served too; its
// fire loop is stepped by the test (Step), on the harness's clock.
type schedulesHarness struct {
	*jobsHarness
	sched *schedule.Service
	meter *prom.Schedules
}

// t0 is the harness clock's start.
var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func newSchedulesHarness(t *testing.T) *schedulesHarness {
	t.Helper()
	h := &schedulesHarness{jobsHarness: newJobsHarness(t)}
	h.servePackages(t)
	must[runners.Package](t)(h.recordDeclaring(t, "greet", "1.0.0", 1, declared))
	h.meter = prom.NewSchedules(h.reg)
	h.sched = h.scheduleService(t, natsapi.ScheduleJobs(h.jobs))
	natsrpctest.Serve(t, natstest.Connect(t, h.url), h.log, "exekra-runners-schedules", natsapi.ScheduleEndpoints(h.sched)...)
	return h
}

// scheduleService is another instance of the schedules on the same
// database, as a second process would be.
func (h *schedulesHarness) scheduleService(t testing.TB, jobs schedule.Jobs) *schedule.Service {
	t.Helper()
	var meter schedule.Meter
	if h.meter != nil {
		meter = h.meter
	}
	svc, err := schedule.NewService(schedule.Deps{Store: postgres.NewStore(h.pool, outbox.Writer{Service: "runners"}).Schedules(),
		Jobs: jobs, Meter: meter, Log: h.log, Now: h.clock.Now, Tick: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// spec is an every-n-seconds schedule of greet.
func spec(name string, every int) runners.ScheduleSpec {
	return runners.ScheduleSpec{Name: name, Package: "greet", Environment: runners.EnvStaging,
		Parameters: params(`{"who":"cron"}`), IntervalSeconds: every}
}

func (h *schedulesHarness) createSchedule(t testing.TB, s runners.ScheduleSpec) runners.Schedule {
	t.Helper()
	return must[runners.Schedule](t)(call[runners.Schedule](as(developer), h.harness, runners.SubjectScheduleCreate, s))
}

func (h *schedulesHarness) getSchedule(t testing.TB, id string) runners.Schedule {
	t.Helper()
	return must[runners.Schedule](t)(call[runners.Schedule](as(operator), h.harness, runners.SubjectScheduleGet,
		runners.ScheduleRequest{ID: id}))
}

// step runs one round of the fire loop.
func (h *schedulesHarness) step(t testing.TB) {
	t.Helper()
	if err := h.sched.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// advance moves the clock by d and steps.
func (h *schedulesHarness) advance(t testing.TB, d time.Duration) {
	t.Helper()
	h.clock.Advance(d)
	h.step(t)
}

// dbFire is a fire as stored.
type dbFire struct {
	At      time.Time
	Kind    string
	Outcome string
	Reason  string
	JobID   string
}

// fires reads a schedule's fires from PostgreSQL, oldest first.
func (h *schedulesHarness) fires(t testing.TB, id string) []dbFire {
	t.Helper()
	rows, err := h.pool.Query(context.Background(), `SELECT fire_time, kind, outcome, reason, coalesce(job_id::text, '')
		FROM schedule_fires WHERE schedule_id = $1 ORDER BY fire_time`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []dbFire
	for rows.Next() {
		var f dbFire
		if err := rows.Scan(&f.At, &f.Kind, &f.Outcome, &f.Reason, &f.JobID); err != nil {
			t.Fatal(err)
		}
		f.At = f.At.UTC()
		out = append(out, f)
	}
	return out
}

// outcomes is the fires' outcomes in order.
func outcomes(fs []dbFire) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Outcome
	}
	return out
}

// jobsOf counts the jobs a schedule started.
func (h *schedulesHarness) jobsOf(t testing.TB, id string) int {
	t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), "SELECT count(*) FROM jobs WHERE schedule_id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantError asserts err's kind and that its message holds every part.
func wantError(t testing.TB, err error, kind errs.Kind, parts ...string) {
	t.Helper()
	wantKind(t, err, kind)
	_, msg := errs.Public(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Fatalf("message %q lacks %q", msg, p)
		}
	}
}
