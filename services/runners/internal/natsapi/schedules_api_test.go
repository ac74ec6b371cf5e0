package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// TestScheduleValidation: what a schedule or calendar cannot be is an
// invalid_argument naming the field.
func TestScheduleValidation(t *testing.T) {
	h := newSchedulesHarness(t)
	create := func(mod func(*runners.ScheduleSpec)) error {
		s := spec("bad", 60)
		mod(&s)
		_, err := call[runners.Schedule](as(developer), h.harness, runners.SubjectScheduleCreate, s)
		return err
	}
	cases := []struct {
		name  string
		mod   func(*runners.ScheduleSpec)
		parts []string
	}{
		{"a bad cron", func(s *runners.ScheduleSpec) { s.IntervalSeconds, s.Cron = 0, "61 * * * *" }, []string{"cron", "61 * * * *"}},
		{"cron and an interval", func(s *runners.ScheduleSpec) { s.Cron = "@daily" }, []string{"cron", "interval_seconds"}},
		{"neither", func(s *runners.ScheduleSpec) { s.IntervalSeconds = 0 }, []string{"cron", "interval_seconds"}},
		{"an interval too long", func(s *runners.ScheduleSpec) { s.IntervalSeconds = runners.MaxIntervalSeconds + 1 }, []string{"interval_seconds"}},
		{"an unknown zone", func(s *runners.ScheduleSpec) { s.TimeZone = "Mars/Olympus" }, []string{"time_zone", "Mars/Olympus"}},
		{"the host's zone", func(s *runners.ScheduleSpec) { s.TimeZone = "Local" }, []string{"time_zone"}},
		{"start after end", func(s *runners.ScheduleSpec) {
			a, b := t0.Add(time.Hour), t0
			s.StartAt, s.EndAt = &a, &b
		}, []string{"start_at", "end_at"}},
		{"an unknown calendar", func(s *runners.ScheduleSpec) { s.CalendarIDs = []string{uuid.NewString()} }, []string{"calendar_ids"}},
		{"not a calendar id", func(s *runners.ScheduleSpec) { s.CalendarIDs = []string{"x"} }, []string{"calendar_ids"}},
		{"a bad concurrency", func(s *runners.ScheduleSpec) { s.Concurrency = "sometimes" }, []string{"concurrency"}},
		{"a bad misfire", func(s *runners.ScheduleSpec) { s.Misfire = "later" }, []string{"misfire"}},
		{"no name", func(s *runners.ScheduleSpec) { s.Name = " " }, []string{"name"}},
		{"a long name", func(s *runners.ScheduleSpec) { s.Name = string(make([]rune, 101)) }, []string{"name"}},
		{"parameters the package refuses", func(s *runners.ScheduleSpec) { s.Parameters = params(`{"retries":"x"}`) }, []string{"retries"}},
		{"a bad environment", func(s *runners.ScheduleSpec) { s.Environment = "Moon" }, []string{"environment"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantError(t, create(c.mod), errs.InvalidArgument, c.parts...) })
	}
	t.Run("an unknown package is not found, as for a job", func(t *testing.T) {
		wantKind(t, create(func(s *runners.ScheduleSpec) { s.Package = "nope" }), errs.NotFound)
	})
	t.Run("a name is unique whatever its case", func(t *testing.T) {
		h.createSchedule(t, spec("Nightly", 60))
		_, err := call[runners.Schedule](as(developer), h.harness, runners.SubjectScheduleCreate, spec("nIGHTLY", 60))
		wantError(t, err, errs.Conflict, "nIGHTLY")
	})
	t.Run("calendars", func(t *testing.T) {
		for _, c := range []struct {
			spec  runners.CalendarSpec
			parts []string
		}{
			{runners.CalendarSpec{Name: "x", Dates: []string{"2026-02-30"}}, []string{"dates", "2026-02-30"}},
			{runners.CalendarSpec{Name: "x", Dates: []string{"2026-6-1"}}, []string{"dates"}},
			{runners.CalendarSpec{Name: "x", TimeZone: "Nowhere"}, []string{"time_zone"}},
			{runners.CalendarSpec{Name: "x", Dates: make([]string, runners.MaxCalendarDates+1)}, []string{"dates"}},
		} {
			_, err := call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarCreate, c.spec)
			wantError(t, err, errs.InvalidArgument, c.parts...)
		}
	})
}

// TestScheduleRoles: an operator reads, pauses, resumes and runs now; only
// a developer or admin authors.
func TestScheduleRoles(t *testing.T) {
	h := newSchedulesHarness(t)
	_, err := call[runners.Schedule](as(operator), h.harness, runners.SubjectScheduleCreate, spec("op", 60))
	wantKind(t, err, errs.PermissionDenied)
	_, err = call[runners.Calendar](as(operator), h.harness, runners.SubjectCalendarCreate, runners.CalendarSpec{Name: "c"})
	wantKind(t, err, errs.PermissionDenied)
	_, err = call[runners.ListSchedulesResponse](gateway(sourceIP), h.harness, runners.SubjectScheduleList, runners.ListSchedulesRequest{})
	wantKind(t, err, errs.PermissionDenied)
	sc := must[runners.Schedule](t)(call[runners.Schedule](as(admin), h.harness, runners.SubjectScheduleCreate, spec("admin's", 60)))
	req := runners.ScheduleRequest{ID: sc.ID}
	_, err = call[runners.Schedule](as(operator), h.harness, runners.SubjectScheduleUpdate, runners.UpdateScheduleRequest{ID: sc.ID, Spec: spec("x", 5)})
	wantKind(t, err, errs.PermissionDenied)
	_, err = call[runners.ScheduleDeleted](as(operator), h.harness, runners.SubjectScheduleDelete, req)
	wantKind(t, err, errs.PermissionDenied)

	paused := must[runners.Schedule](t)(call[runners.Schedule](as(operator), h.harness, runners.SubjectSchedulePause, req))
	if paused.State != runners.SchedulePaused || paused.NextFireAt != nil {
		t.Fatalf("paused %+v", paused)
	}
	again := must[runners.Schedule](t)(call[runners.Schedule](as(operator), h.harness, runners.SubjectSchedulePause, req))
	if again.State != runners.SchedulePaused || !again.UpdatedAt.Equal(paused.UpdatedAt) {
		t.Fatalf("pausing a paused schedule changed it: %+v", again)
	}
	fire := must[runners.ScheduleFire](t)(call[runners.ScheduleFire](as(operator), h.harness, runners.SubjectScheduleRun,
		runners.RunScheduleRequest{ID: sc.ID}))
	if fire.Kind != runners.FireManual || fire.Outcome != runners.FireJobCreated || fire.JobID == nil {
		t.Fatalf("run now %+v", fire)
	}
	if j := h.getJob(t, *fire.JobID); j.CreatedBy != operator.ID || j.ScheduleID == nil || *j.ScheduleID != sc.ID || j.ScheduledFor != nil {
		t.Fatalf("run-now job %+v", j)
	}
	h.clock.Advance(5 * time.Minute)
	resumed := must[runners.Schedule](t)(call[runners.Schedule](as(operator), h.harness, runners.SubjectScheduleResume, req))
	if resumed.State != runners.ScheduleActive || resumed.NextFireAt == nil || !resumed.NextFireAt.Equal(t0.Add(6*time.Minute)) {
		t.Fatalf("resumed %+v", resumed)
	}
	h.step(t) // nothing of the paused minutes is made up
	if fs := h.fires(t, sc.ID); len(fs) != 1 || fs[0].Kind != runners.FireManual {
		t.Fatalf("fires after resuming %+v", fs)
	}

	var actions []string
	for _, ev := range h.events(t) {
		if ev.Target.ID == sc.ID {
			actions = append(actions, ev.Action)
			if ev.Action == runners.ActionSchedulePause && (ev.Actor.ID != operator.ID || ev.Actor.Type != audit.ActorUser) {
				t.Fatalf("pause audited as %+v", ev.Actor)
			}
		}
	}
	want := []string{runners.ActionScheduleCreate, runners.ActionSchedulePause, runners.ActionScheduleRun, runners.ActionScheduleResume}
	if !equal(actions, want) {
		t.Fatalf("audited %v, want %v", actions, want)
	}
}

// TestScheduleRunNow: a repeat under one key is one fire and one job; a job
// that cannot be made is that error and a failed fire.
func TestScheduleRunNow(t *testing.T) {
	h := newSchedulesHarness(t)
	s := spec("on demand", 3600)
	s.Concurrency = runners.ConcurrencyAllow // the run-now jobs stay pending
	sc := h.createSchedule(t, s)
	req := runners.RunScheduleRequest{ID: sc.ID, IdempotencyKey: "run-1"}
	a := must[runners.ScheduleFire](t)(call[runners.ScheduleFire](as(operator), h.harness, runners.SubjectScheduleRun, req))
	h.clock.Advance(time.Second)
	b := must[runners.ScheduleFire](t)(call[runners.ScheduleFire](as(operator), h.harness, runners.SubjectScheduleRun, req))
	if *a.JobID != *b.JobID || !a.FireTime.Equal(b.FireTime) || len(h.fires(t, sc.ID)) != 1 || h.jobsOf(t, sc.ID) != 1 {
		t.Fatalf("repeated run now: %+v then %+v", a, b)
	}
	if got := h.getSchedule(t, sc.ID); got.LastFire == nil || *got.LastFire.JobID != *a.JobID {
		t.Fatalf("last fire %+v", got.LastFire)
	}
	other := h.createSchedule(t, spec("other", 3600))
	_, err := call[runners.ScheduleFire](as(operator), h.harness, runners.SubjectScheduleRun,
		runners.RunScheduleRequest{ID: other.ID, IdempotencyKey: "run-1"})
	wantKind(t, err, errs.Conflict)

	if _, err := h.pool.Exec(t.Context(), "DELETE FROM packages WHERE name = 'greet'"); err != nil {
		t.Fatal(err)
	}
	_, err = call[runners.ScheduleFire](as(operator), h.harness, runners.SubjectScheduleRun, runners.RunScheduleRequest{ID: sc.ID})
	wantKind(t, err, errs.NotFound)
	fs := h.fires(t, sc.ID)
	if last := fs[len(fs)-1]; last.Outcome != runners.FireFailed || last.Kind != runners.FireManual || last.Reason == "" {
		t.Fatalf("failed run now recorded as %+v", last)
	}
	h.advance(t, time.Hour) // a scheduled fire fails the same way, with the reason
	fs = h.fires(t, sc.ID)
	if last := fs[len(fs)-1]; last.Outcome != runners.FireFailed || last.Kind != runners.FireScheduled ||
		last.Reason != `no package "greet" version "latest" is published` {
		t.Fatalf("failed fire %+v", last)
	}
}

// TestScheduleEndAtUpdateAndLists: a schedule ends past its end_at, a PUT
// with a later end revives it; the lists page and filter.
func TestScheduleEndAtUpdateAndLists(t *testing.T) {
	h := newSchedulesHarness(t)
	end := t0.Add(25 * time.Second)
	s := spec("short", 10)
	s.Concurrency, s.EndAt = runners.ConcurrencyAllow, &end
	sc := h.createSchedule(t, s)
	for range 3 {
		h.advance(t, 10*time.Second)
	}
	got := h.getSchedule(t, sc.ID)
	if got.State != runners.ScheduleEnded || got.NextFireAt != nil || len(h.fires(t, sc.ID)) != 2 {
		t.Fatalf("past its end: %+v, fires %v", got, outcomes(h.fires(t, sc.ID)))
	}
	_, err := call[runners.Schedule](as(operator), h.harness, runners.SubjectScheduleResume, runners.ScheduleRequest{ID: sc.ID})
	wantKind(t, err, errs.Conflict)
	next := must[runners.NextFires](t)(call[runners.NextFires](as(operator), h.harness, runners.SubjectScheduleNext,
		runners.NextFiresRequest{ID: sc.ID}))
	if len(next.Items) != 0 {
		t.Fatalf("an ended schedule's next fires %+v", next)
	}
	later := t0.Add(time.Hour)
	s.EndAt, s.IntervalSeconds = &later, 60
	upd := must[runners.Schedule](t)(call[runners.Schedule](as(developer), h.harness, runners.SubjectScheduleUpdate,
		runners.UpdateScheduleRequest{ID: sc.ID, Spec: s}))
	if upd.State != runners.ScheduleActive || upd.NextFireAt == nil || !upd.NextFireAt.After(h.clock.Now()) || upd.IntervalSeconds != 60 ||
		upd.Version != "latest" || upd.CreatedAt != sc.CreatedAt {
		t.Fatalf("updated %+v", upd)
	}
	for _, name := range []string{"b", "C", "a"} {
		h.createSchedule(t, spec(name, 60))
	}
	var names []string
	cursor := ""
	for {
		page := must[runners.ListSchedulesResponse](t)(call[runners.ListSchedulesResponse](as(operator), h.harness,
			runners.SubjectScheduleList, runners.ListSchedulesRequest{Limit: 2, Cursor: cursor}))
		for _, it := range page.Items {
			names = append(names, it.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if !equal(names, []string{"a", "b", "C", "short"}) {
		t.Fatalf("schedules by name %v", names)
	}
	all := must[runners.ListFiresResponse](t)(call[runners.ListFiresResponse](as(operator), h.harness, runners.SubjectScheduleFires,
		runners.ListFiresRequest{Outcome: runners.FireJobCreated, Limit: 1}))
	if len(all.Items) != 1 || all.Items[0].ScheduleName != "short" || !all.Items[0].FireTime.Equal(t0.Add(20*time.Second)) ||
		all.NextCursor == "" {
		t.Fatalf("fires %+v", all)
	}
	rest := must[runners.ListFiresResponse](t)(call[runners.ListFiresResponse](as(operator), h.harness, runners.SubjectScheduleFires,
		runners.ListFiresRequest{ScheduleID: sc.ID, Cursor: all.NextCursor}))
	if len(rest.Items) != 1 || !rest.Items[0].FireTime.Equal(t0.Add(10*time.Second)) || rest.NextCursor != "" {
		t.Fatalf("second page %+v", rest)
	}
	_, err = call[runners.ListFiresResponse](as(operator), h.harness, runners.SubjectScheduleFires,
		runners.ListFiresRequest{Since: t0.Add(time.Hour), Until: t0})
	wantKind(t, err, errs.InvalidArgument)
	_, err = call[runners.ListFiresResponse](as(operator), h.harness, runners.SubjectScheduleFires,
		runners.ListFiresRequest{ScheduleID: uuid.NewString()})
	wantKind(t, err, errs.NotFound)
}
