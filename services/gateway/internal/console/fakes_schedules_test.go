package console_test

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
)

// A test double of the runners service's schedules and calendars: canned
// answers on their real subjects, with the roles the service enforces.

var fireAt = time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC) // 02:00 in Berlin (CEST)

type fakeSchedules struct {
	items      []runners.Schedule
	calendars  []runners.Calendar
	fires      map[string][]runners.ScheduleFire
	lastList   runners.ListSchedulesRequest
	lastCreate *runners.ScheduleSpec
	lastUpdate *runners.UpdateScheduleRequest
	lastRun    *runners.RunScheduleRequest
	lastFires  runners.ListFiresRequest
	lastCal    *runners.CalendarSpec
	deleted    []string
}

func newFakeSchedules() fakeSchedules {
	next, job, runner, lag := fireAt, "j-sched", "r-1", 0.5
	last := runners.ScheduleFire{ScheduleID: "s-1", ScheduleName: "nightly", FireTime: fireAt.Add(-24 * time.Hour), Kind: runners.FireScheduled,
		Outcome: runners.FireJobCreated, JobID: &job, RecordedAt: fireAt.Add(-24 * time.Hour), LagSeconds: &lag}
	return fakeSchedules{
		items: []runners.Schedule{
			{ID: "s-1", Name: "nightly", Description: "the nightly report", Package: "hello", Version: "latest", Environment: runners.EnvProduction,
				RunnerID: &runner, Labels: []string{"linux"}, Parameters: []byte(`{}`), MaxAttempts: 2, TimeoutSeconds: 600, Cron: "0 2 * * *",
				TimeZone: "Europe/Berlin", CalendarIDs: []string{"c-1"}, Concurrency: runners.ConcurrencySkip, Misfire: runners.MisfireFireOnce,
				State: runners.ScheduleActive, NextFireAt: &next, LastFire: &last, CreatedBy: devUser.ID, CreatedAt: publishedAt, UpdatedAt: publishedAt},
			{ID: "s-2", Name: "poller", Package: "params", Version: "2.0.0", Environment: runners.EnvStaging, Labels: []string{},
				Parameters: []byte(`{"who":"ops","count":5}`), MaxAttempts: 1, TimeoutSeconds: 3600, IntervalSeconds: 300, TimeZone: "UTC",
				CalendarIDs: []string{}, Concurrency: runners.ConcurrencyQueue, Misfire: runners.MisfireSkip, State: runners.SchedulePaused,
				CreatedBy: adminUser.ID, CreatedAt: publishedAt, UpdatedAt: publishedAt},
		},
		calendars: []runners.Calendar{
			{ID: "c-1", Name: "holidays", Description: "public holidays", TimeZone: "Europe/Berlin", Dates: []string{"2000-01-01", "2099-01-01"},
				CreatedBy: devUser.ID, CreatedAt: publishedAt, UpdatedAt: publishedAt},
			{ID: "c-2", Name: "spare", TimeZone: "UTC", Dates: []string{}, CreatedBy: devUser.ID, CreatedAt: publishedAt, UpdatedAt: publishedAt},
		},
		fires: map[string][]runners.ScheduleFire{"s-1": {
			last,
			{ScheduleID: "s-1", ScheduleName: "nightly", FireTime: fireAt.Add(-48 * time.Hour), Kind: runners.FireScheduled,
				Outcome: runners.FireSkippedCalendar, Reason: "2026-06-29 is a non-working day of holidays", RecordedAt: fireAt.Add(-48 * time.Hour)},
		}},
	}
}

func (f *fakeHub) findSchedule(id string) int {
	return slices.IndexFunc(f.schedules.items, func(s runners.Schedule) bool { return s.ID == id })
}

func (f *fakeHub) findCalendar(id string) int {
	return slices.IndexFunc(f.schedules.calendars, func(c runners.Calendar) bool { return c.ID == id })
}

// author refuses a caller below DEVELOPER, as the runners service does.
func author(ctx context.Context) error {
	if !identity.RoleAtLeast(caller.ActorFromContext(ctx).Role, identity.RoleDeveloper) {
		return errs.E(errs.PermissionDenied, "schedules and calendars are changed by a DEVELOPER or an ADMIN")
	}
	return nil
}

// checkSpec refuses what the runners service would, naming the field.
func (f *fakeHub) checkSpec(spec runners.ScheduleSpec, id string) error {
	switch {
	case spec.Name == "":
		return errs.E(errs.InvalidArgument, "name is required")
	case spec.Cron == "" && spec.IntervalSeconds == 0:
		return errs.E(errs.InvalidArgument, "cron or interval_seconds is required")
	case spec.Cron == "bad":
		return errs.E(errs.InvalidArgument, "cron: expected 5 or 6 fields, found 1")
	case spec.TimeZone == "Mars/Base":
		return errs.E(errs.InvalidArgument, `time_zone: unknown time zone "Mars/Base"`)
	case spec.Package == "params" && !strings.Contains(string(spec.Parameters), `"who"`):
		return errs.E(errs.InvalidArgument, `parameter "who": required, and missing`)
	}
	for _, c := range spec.CalendarIDs {
		if f.findCalendar(c) < 0 {
			return errs.Ef(errs.NotFound, "calendar_ids: no such calendar %s", c)
		}
	}
	for _, s := range f.schedules.items {
		if s.Name == spec.Name && s.ID != id {
			return errs.E(errs.Conflict, "name is in use by another schedule")
		}
	}
	return nil
}

func scheduleOf(id string, spec runners.ScheduleSpec) runners.Schedule {
	s := runners.Schedule{ID: id, Name: spec.Name, Description: spec.Description, Package: spec.Package, Version: cmp.Or(spec.Version, "latest"),
		Environment: spec.Environment, Labels: spec.Labels, Parameters: spec.Parameters, MaxAttempts: max(spec.MaxAttempts, 1),
		TimeoutSeconds: cmp.Or(spec.TimeoutSeconds, 3600), Cron: spec.Cron, IntervalSeconds: spec.IntervalSeconds, TimeZone: cmp.Or(spec.TimeZone, "UTC"),
		StartAt: spec.StartAt, EndAt: spec.EndAt, CalendarIDs: spec.CalendarIDs, Concurrency: cmp.Or(spec.Concurrency, runners.ConcurrencySkip),
		Misfire: cmp.Or(spec.Misfire, runners.MisfireFireOnce), State: runners.ScheduleActive, CreatedBy: devUser.ID, CreatedAt: publishedAt, UpdatedAt: publishedAt}
	if spec.RunnerID != "" {
		s.RunnerID = &spec.RunnerID
	}
	if spec.Paused {
		s.State = runners.SchedulePaused
	}
	return s
}

func (f *fakeHub) schedulesEndpoints() []natsrpc.Endpoint {
	notFound := errs.E(errs.NotFound, "no such schedule")
	return []natsrpc.Endpoint{
		natsrpc.Handle(runners.SubjectScheduleList, func(_ context.Context, r runners.ListSchedulesRequest) (runners.ListSchedulesResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastList = r
			out := runners.ListSchedulesResponse{Items: []runners.Schedule{}}
			for _, s := range f.schedules.items {
				if (r.State == "" || s.State == r.State) && (r.Environment == "" || s.Environment == r.Environment) &&
					(r.CalendarID == "" || slices.Contains(s.CalendarIDs, r.CalendarID)) {
					out.Items = append(out.Items, s)
				}
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectScheduleGet, func(_ context.Context, r runners.ScheduleRequest) (runners.Schedule, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if i := f.findSchedule(r.ID); i >= 0 {
				return f.schedules.items[i], nil
			}
			return runners.Schedule{}, notFound
		}),
		natsrpc.Handle(runners.SubjectScheduleCreate, func(ctx context.Context, spec runners.ScheduleSpec) (runners.Schedule, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastCreate = &spec
			if err := author(ctx); err != nil {
				return runners.Schedule{}, err
			}
			if err := f.checkSpec(spec, ""); err != nil {
				return runners.Schedule{}, err
			}
			s := scheduleOf("s-new", spec)
			f.schedules.items = append(f.schedules.items, s)
			return s, nil
		}),
		natsrpc.Handle(runners.SubjectScheduleUpdate, func(ctx context.Context, r runners.UpdateScheduleRequest) (runners.Schedule, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastUpdate = &r
			if err := author(ctx); err != nil {
				return runners.Schedule{}, err
			}
			i := f.findSchedule(r.ID)
			if i < 0 {
				return runners.Schedule{}, notFound
			}
			if err := f.checkSpec(r.Spec, r.ID); err != nil {
				return runners.Schedule{}, err
			}
			s := scheduleOf(r.ID, r.Spec)
			s.State = f.schedules.items[i].State
			f.schedules.items[i] = s
			return s, nil
		}),
		natsrpc.Handle(runners.SubjectScheduleDelete, func(ctx context.Context, r runners.ScheduleRequest) (runners.ScheduleDeleted, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := author(ctx); err != nil {
				return runners.ScheduleDeleted{}, err
			}
			i := f.findSchedule(r.ID)
			if i < 0 {
				return runners.ScheduleDeleted{}, notFound
			}
			f.schedules.items = slices.Delete(f.schedules.items, i, i+1)
			f.schedules.deleted = append(f.schedules.deleted, r.ID)
			return runners.ScheduleDeleted{}, nil
		}),
		natsrpc.Handle(runners.SubjectSchedulePause, f.setScheduleState(runners.SchedulePaused)),
		natsrpc.Handle(runners.SubjectScheduleResume, f.setScheduleState(runners.ScheduleActive)),
		natsrpc.Handle(runners.SubjectScheduleRun, func(_ context.Context, r runners.RunScheduleRequest) (runners.ScheduleFire, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastRun = &r
			i := f.findSchedule(r.ID)
			if i < 0 {
				return runners.ScheduleFire{}, notFound
			}
			fire := runners.ScheduleFire{ScheduleID: r.ID, FireTime: fireAt, Kind: runners.FireManual, Outcome: runners.FireJobCreated}
			if f.schedules.items[i].Concurrency == runners.ConcurrencyQueue {
				fire.Outcome = runners.FireQueued
			} else {
				job := "j-run"
				fire.JobID = &job
			}
			return fire, nil
		}),
		natsrpc.Handle(runners.SubjectScheduleNext, func(_ context.Context, r runners.NextFiresRequest) (runners.NextFires, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			i := f.findSchedule(r.ID)
			if i < 0 {
				return runners.NextFires{}, notFound
			}
			s := f.schedules.items[i]
			out := runners.NextFires{TimeZone: s.TimeZone, Items: []runners.NextFire{}}
			if s.State != runners.ScheduleActive {
				return out, nil
			}
			cal := "c-1"
			for n := range r.Count {
				at := fireAt.Add(time.Duration(n) * 24 * time.Hour)
				nf := runners.NextFire{At: at, Local: at.Format(time.RFC3339)}
				if n == 1 {
					nf.SkippedByCalendar = &cal
				}
				out.Items = append(out.Items, nf)
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectScheduleFires, func(_ context.Context, r runners.ListFiresRequest) (runners.ListFiresResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastFires = r
			out := runners.ListFiresResponse{Items: slices.Clone(f.schedules.fires[r.ScheduleID])}
			if r.Limit > 0 && len(out.Items) > r.Limit {
				out.Items, out.NextCursor = out.Items[:r.Limit], "more"
			}
			if out.Items == nil {
				out.Items = []runners.ScheduleFire{}
			}
			return out, nil
		}),
		natsrpc.Handle(runners.SubjectCalendarList, func(_ context.Context, _ runners.ListCalendarsRequest) (runners.ListCalendarsResponse, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return runners.ListCalendarsResponse{Items: slices.Clone(f.schedules.calendars)}, nil
		}),
		natsrpc.Handle(runners.SubjectCalendarGet, func(_ context.Context, r runners.CalendarRequest) (runners.Calendar, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if i := f.findCalendar(r.ID); i >= 0 {
				return f.schedules.calendars[i], nil
			}
			return runners.Calendar{}, errs.E(errs.NotFound, "no such calendar")
		}),
		natsrpc.Handle(runners.SubjectCalendarCreate, func(ctx context.Context, spec runners.CalendarSpec) (runners.Calendar, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastCal = &spec
			if err := author(ctx); err != nil {
				return runners.Calendar{}, err
			}
			if err := checkCalendar(spec); err != nil {
				return runners.Calendar{}, err
			}
			cal := runners.Calendar{ID: "c-new", Name: spec.Name, TimeZone: cmp.Or(spec.TimeZone, "UTC"), Dates: spec.Dates, CreatedAt: publishedAt, UpdatedAt: publishedAt}
			f.schedules.calendars = append(f.schedules.calendars, cal)
			return cal, nil
		}),
		natsrpc.Handle(runners.SubjectCalendarUpdate, func(ctx context.Context, r runners.UpdateCalendarRequest) (runners.Calendar, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.schedules.lastCal = &r.Spec
			if err := author(ctx); err != nil {
				return runners.Calendar{}, err
			}
			i := f.findCalendar(r.ID)
			if i < 0 {
				return runners.Calendar{}, errs.E(errs.NotFound, "no such calendar")
			}
			if err := checkCalendar(r.Spec); err != nil {
				return runners.Calendar{}, err
			}
			cal := f.schedules.calendars[i]
			cal.Name, cal.Description, cal.TimeZone, cal.Dates = r.Spec.Name, r.Spec.Description, cmp.Or(r.Spec.TimeZone, "UTC"), r.Spec.Dates
			f.schedules.calendars[i] = cal
			return cal, nil
		}),
		natsrpc.Handle(runners.SubjectCalendarDelete, func(ctx context.Context, r runners.CalendarRequest) (runners.CalendarDeleted, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if err := author(ctx); err != nil {
				return runners.CalendarDeleted{}, err
			}
			var users []string
			for _, s := range f.schedules.items {
				if slices.Contains(s.CalendarIDs, r.ID) {
					users = append(users, s.Name)
				}
			}
			if len(users) > 0 {
				return runners.CalendarDeleted{}, errs.Ef(errs.Conflict, "the calendar is used by the schedules %s", strings.Join(users, ", "))
			}
			i := f.findCalendar(r.ID)
			if i < 0 {
				return runners.CalendarDeleted{}, errs.E(errs.NotFound, "no such calendar")
			}
			f.schedules.calendars = slices.Delete(f.schedules.calendars, i, i+1)
			return runners.CalendarDeleted{}, nil
		}),
	}
}

func (f *fakeHub) setScheduleState(state string) func(context.Context, runners.ScheduleRequest) (runners.Schedule, error) {
	return func(_ context.Context, r runners.ScheduleRequest) (runners.Schedule, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		i := f.findSchedule(r.ID)
		if i < 0 {
			return runners.Schedule{}, errs.E(errs.NotFound, "no such schedule")
		}
		if f.schedules.items[i].State == runners.ScheduleEnded {
			return runners.Schedule{}, errs.E(errs.Conflict, "the schedule has ended; give it a later end_at")
		}
		f.schedules.items[i].State = state
		return f.schedules.items[i], nil
	}
}

func checkCalendar(spec runners.CalendarSpec) error {
	if spec.Name == "" {
		return errs.E(errs.InvalidArgument, "name is required")
	}
	for _, d := range spec.Dates {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return errs.Ef(errs.InvalidArgument, "dates: %q is not a date YYYY-MM-DD", d)
		}
	}
	return nil
}
