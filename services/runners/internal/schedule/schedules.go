package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/exekra/hub/services/runners/internal/firetime"
	"github.com/google/uuid"
)

// latest is how the API shows a schedule that follows the newest version.
const latest = "latest"

// validated is a checked spec: the schedule's fields (no id, state or
// times) and the calendars it names.
type validated struct {
	sc        runners.Schedule
	calendars []runners.Calendar
}

// validate checks spec as a schedule: its own fields, then the job it
// starts through Jobs.Check, as a job start would be checked.
func (s *Service) validate(ctx context.Context, spec runners.ScheduleSpec) (validated, error) {
	var err error
	sc := runners.Schedule{Description: spec.Description, Package: strings.TrimSpace(spec.Package),
		Version: strings.TrimSpace(spec.Version), Environment: spec.Environment, Labels: spec.Labels,
		Parameters: spec.Parameters, MaxAttempts: spec.MaxAttempts, TimeoutSeconds: spec.TimeoutSeconds,
		Cron: strings.TrimSpace(spec.Cron), IntervalSeconds: spec.IntervalSeconds, StartAt: utc(spec.StartAt),
		EndAt: utc(spec.EndAt), Concurrency: spec.Concurrency, Misfire: spec.Misfire}
	if sc.Name, err = checkName(spec.Name); err != nil {
		return validated{}, err
	}
	if err := firstError(checkDescription(sc.Description), text.Check("cron", sc.Cron)); err != nil {
		return validated{}, err
	}
	switch {
	case sc.Cron != "" && sc.IntervalSeconds != 0:
		return validated{}, errs.E(errs.InvalidArgument, "give either cron or interval_seconds, not both")
	case sc.Cron == "" && sc.IntervalSeconds == 0:
		return validated{}, errs.E(errs.InvalidArgument, "give cron or interval_seconds")
	case sc.Cron == "" && (sc.IntervalSeconds < runners.MinIntervalSeconds || sc.IntervalSeconds > runners.MaxIntervalSeconds):
		return validated{}, errs.Ef(errs.InvalidArgument, "interval_seconds must be from %d to %d",
			runners.MinIntervalSeconds, runners.MaxIntervalSeconds)
	}
	if sc.TimeZone, err = checkZone(spec.TimeZone); err != nil {
		return validated{}, err
	}
	if sc.StartAt != nil && sc.EndAt != nil && !sc.StartAt.Before(*sc.EndAt) {
		return validated{}, errs.E(errs.InvalidArgument, "start_at must be before end_at")
	}
	if _, err := s.rule(sc, s.now()); err != nil {
		return validated{}, err
	}
	if sc.Concurrency == "" {
		sc.Concurrency = runners.ConcurrencySkip
	}
	if !slices.Contains(runners.ConcurrencyPolicies, sc.Concurrency) {
		return validated{}, errs.Ef(errs.InvalidArgument, "concurrency must be one of %s", strings.Join(runners.ConcurrencyPolicies, ", "))
	}
	if sc.Misfire == "" {
		sc.Misfire = runners.MisfireFireOnce
	}
	if !slices.Contains(runners.MisfirePolicies, sc.Misfire) {
		return validated{}, errs.Ef(errs.InvalidArgument, "misfire must be one of %s", strings.Join(runners.MisfirePolicies, ", "))
	}
	cals, err := s.checkCalendars(ctx, spec.CalendarIDs)
	if err != nil {
		return validated{}, err
	}
	sc.CalendarIDs = make([]string, len(cals))
	for i, c := range cals {
		sc.CalendarIDs[i] = c.ID
	}
	if sc.Version == latest {
		sc.Version = ""
	}
	if sc.MaxAttempts == 0 {
		sc.MaxAttempts = 1
	}
	if sc.TimeoutSeconds == 0 {
		sc.TimeoutSeconds = 3600
	}
	if sc.Labels == nil {
		sc.Labels = []string{}
	}
	if t := strings.TrimSpace(string(sc.Parameters)); t == "" || t == "null" {
		sc.Parameters = json.RawMessage(`{}`)
	}
	if spec.RunnerID != "" {
		id := strings.ToLower(spec.RunnerID)
		sc.RunnerID = &id
	}
	if err := s.Jobs.Check(ctx, SpecOf(sc)); err != nil { // as a job start: an unknown package or version is a 404
		return validated{}, err
	}
	if sc.Version == "" {
		sc.Version = latest
	}
	return validated{sc: sc, calendars: cals}, nil
}

// checkCalendars returns the calendars ids name, in their order, without repeats.
func (s *Service) checkCalendars(ctx context.Context, ids []string) ([]runners.Calendar, error) {
	var uniq []string
	for _, id := range ids {
		if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
			return nil, errs.Ef(errs.InvalidArgument, "calendar_ids: %q is not a calendar's id", text.Mend(id))
		}
		if id = strings.ToLower(id); !slices.Contains(uniq, id) {
			uniq = append(uniq, id)
		}
	}
	if len(uniq) > runners.MaxCalendarsPerSched {
		return nil, errs.Ef(errs.InvalidArgument, "calendar_ids: a schedule uses at most %d calendars", runners.MaxCalendarsPerSched)
	}
	if len(uniq) == 0 {
		return nil, nil
	}
	found, err := s.Store.CalendarsByID(ctx, uniq)
	if err != nil {
		return nil, wrapf(err, "find calendars")
	}
	out := make([]runners.Calendar, 0, len(uniq))
	for _, id := range uniq {
		i := slices.IndexFunc(found, func(c runners.Calendar) bool { return c.ID == id })
		if i < 0 {
			return nil, errs.Ef(errs.InvalidArgument, "calendar_ids: no calendar has the id %s", id)
		}
		out = append(out, found[i])
	}
	return out, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// rule is when sc fires; an interval counts from its start_at, else from created.
func (s *Service) rule(sc runners.Schedule, created time.Time) (firetime.Rule, error) {
	anchor := created
	if sc.StartAt != nil {
		anchor = *sc.StartAt
	}
	r, err := firetime.Parse(sc.Cron, time.Duration(sc.IntervalSeconds)*time.Second, sc.TimeZone, anchor)
	if err != nil {
		return r, errs.E(errs.InvalidArgument, err.Error())
	}
	return r, nil
}

// ruleOf is a stored schedule's rule.
func (s *Service) ruleOf(sc runners.Schedule) (firetime.Rule, error) { return s.rule(sc, sc.CreatedAt) }

// nextAfter is sc's first fire time after after within its start and end
// (false: none, it has ended).
func nextAfter(sc runners.Schedule, r firetime.Rule, after time.Time) (time.Time, bool) {
	if sc.StartAt != nil && after.Before(*sc.StartAt) {
		after = sc.StartAt.Add(-time.Nanosecond)
	}
	t := r.Next(after)
	if t.IsZero() || (sc.EndAt != nil && t.After(*sc.EndAt)) {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// schedule sets sc's state (wantPaused, else active from now unless it has
// no fire time left) and next fire time.
func (s *Service) schedule(sc *runners.Schedule, wantPaused bool, now time.Time) error {
	sc.NextFireAt = nil
	if wantPaused {
		sc.State = runners.SchedulePaused
		return nil
	}
	r, err := s.ruleOf(*sc)
	if err != nil {
		return err
	}
	next, ok := nextAfter(*sc, r, now)
	if !ok {
		sc.State = runners.ScheduleEnded
		return nil
	}
	sc.State, sc.NextFireAt = runners.ScheduleActive, &next
	return nil
}

// SpecOf is the job sc starts (its key and fire time aside).
func SpecOf(sc runners.Schedule) JobSpec {
	spec := JobSpec{Package: sc.Package, Version: sc.Version, Environment: sc.Environment, Labels: sc.Labels,
		Parameters: sc.Parameters, MaxAttempts: sc.MaxAttempts, TimeoutSeconds: sc.TimeoutSeconds, ScheduleID: sc.ID}
	if spec.Version == latest {
		spec.Version = ""
	}
	if sc.RunnerID != nil {
		spec.RunnerID = *sc.RunnerID
	}
	return spec
}

// CreateSchedule records a schedule (DEVELOPER and up).
func (s *Service) CreateSchedule(ctx context.Context, spec runners.ScheduleSpec) (runners.Schedule, error) {
	if err := requireDeveloper(ctx, "creating a schedule"); err != nil {
		return runners.Schedule{}, err
	}
	v, err := s.validate(ctx, spec)
	if err != nil {
		return runners.Schedule{}, err
	}
	now := s.now()
	sc := v.sc
	sc.ID, sc.CreatedBy, sc.CreatedAt, sc.UpdatedAt = uuid.NewString(), actorID(ctx), now, now
	if err := s.schedule(&sc, spec.Paused, now); err != nil {
		return runners.Schedule{}, err
	}
	if err := s.Store.CreateSchedule(ctx, sc, scheduleEvent(runners.ActionScheduleCreate, sc, nil)); err != nil {
		return runners.Schedule{}, err
	}
	return sc, nil
}

// Schedule returns a schedule with its last fire.
func (s *Service) Schedule(ctx context.Context, id string) (runners.Schedule, error) {
	if err := firstError(requireReader(ctx), checkID("schedule", id)); err != nil {
		return runners.Schedule{}, err
	}
	return s.Store.Schedule(ctx, strings.ToLower(id))
}

// UpdateSchedule replaces a schedule's spec (DEVELOPER and up); its next
// fire time is computed again from now. A paused schedule stays paused; an
// ended one whose new end lies ahead is active again.
func (s *Service) UpdateSchedule(ctx context.Context, id string, spec runners.ScheduleSpec) (runners.Schedule, error) {
	if err := firstError(requireDeveloper(ctx, "changing a schedule"), checkID("schedule", id)); err != nil {
		return runners.Schedule{}, err
	}
	v, err := s.validate(ctx, spec)
	if err != nil {
		return runners.Schedule{}, err
	}
	return s.Store.ChangeSchedule(ctx, strings.ToLower(id), func(sc *runners.Schedule) (audit.Event, error) {
		next := v.sc
		next.ID, next.CreatedBy, next.CreatedAt, next.UpdatedAt = sc.ID, sc.CreatedBy, sc.CreatedAt, s.now()
		next.LastFire = sc.LastFire
		if err := s.schedule(&next, spec.Paused || sc.State == runners.SchedulePaused, next.UpdatedAt); err != nil {
			return audit.Event{}, err
		}
		*sc = next
		return scheduleEvent(runners.ActionScheduleUpdate, next, nil), nil
	})
}

// ErrUnchanged is returned by a change to leave the schedule as it is and
// answers it without writing or auditing anything.
var ErrUnchanged = errors.New("schedule unchanged")

// PauseSchedule stops a schedule firing (OPERATOR and up); pausing a paused
// one changes nothing, an ended one is a conflict.
func (s *Service) PauseSchedule(ctx context.Context, id string) (runners.Schedule, error) {
	if err := firstError(requireOperator(ctx, "pausing a schedule"), checkID("schedule", id)); err != nil {
		return runners.Schedule{}, err
	}
	return s.Store.ChangeSchedule(ctx, strings.ToLower(id), func(sc *runners.Schedule) (audit.Event, error) {
		switch sc.State {
		case runners.ScheduleEnded:
			return audit.Event{}, errs.E(errs.Conflict, "the schedule has ended; give it a later end_at to use it again")
		case runners.SchedulePaused:
			return audit.Event{}, ErrUnchanged
		}
		sc.State, sc.NextFireAt, sc.UpdatedAt = runners.SchedulePaused, nil, s.now()
		return scheduleEvent(runners.ActionSchedulePause, *sc, nil), nil
	})
}

// ResumeSchedule makes a paused schedule fire again from now on: the fire
// times that passed while it was paused are not caught up (OPERATOR and up).
// Resuming an active one changes nothing, an ended one is a conflict.
func (s *Service) ResumeSchedule(ctx context.Context, id string) (runners.Schedule, error) {
	if err := firstError(requireOperator(ctx, "resuming a schedule"), checkID("schedule", id)); err != nil {
		return runners.Schedule{}, err
	}
	return s.Store.ChangeSchedule(ctx, strings.ToLower(id), func(sc *runners.Schedule) (audit.Event, error) {
		switch sc.State {
		case runners.ScheduleEnded:
			return audit.Event{}, errs.E(errs.Conflict, "the schedule has ended; give it a later end_at to use it again")
		case runners.ScheduleActive:
			return audit.Event{}, ErrUnchanged
		}
		sc.UpdatedAt = s.now()
		if err := s.schedule(sc, false, sc.UpdatedAt); err != nil {
			return audit.Event{}, err
		}
		return scheduleEvent(runners.ActionScheduleResume, *sc, nil), nil
	})
}

// DeleteSchedule deletes a schedule and its fires; its jobs stay (DEVELOPER and up).
func (s *Service) DeleteSchedule(ctx context.Context, id string) error {
	if err := firstError(requireDeveloper(ctx, "deleting a schedule"), checkID("schedule", id)); err != nil {
		return err
	}
	id = strings.ToLower(id)
	sc, err := s.Store.Schedule(ctx, id)
	if err != nil {
		return err
	}
	return s.Store.DeleteSchedule(ctx, id, scheduleEvent(runners.ActionScheduleDelete, sc, nil))
}

// ListSchedules pages through schedules by name.
func (s *Service) ListSchedules(ctx context.Context, req runners.ListSchedulesRequest) (runners.ListSchedulesResponse, error) {
	if err := requireReader(ctx); err != nil {
		return runners.ListSchedulesResponse{}, err
	}
	limit, err := checkLimit(req.Limit)
	if err != nil {
		return runners.ListSchedulesResponse{}, err
	}
	q := ScheduleQuery{Limit: limit + 1, State: req.State, Environment: req.Environment, Package: req.Package,
		CalendarID: strings.ToLower(req.CalendarID)}
	switch {
	case q.State != "" && !slices.Contains(runners.ScheduleStates, q.State):
		return runners.ListSchedulesResponse{}, errs.Ef(errs.InvalidArgument, "state must be one of %s", strings.Join(runners.ScheduleStates, ", "))
	case q.Environment != "" && !slices.Contains(runners.Environments, q.Environment):
		return runners.ListSchedulesResponse{}, errs.Ef(errs.InvalidArgument, "environment must be one of %s", strings.Join(runners.Environments, ", "))
	case q.CalendarID != "" && checkID("calendar", q.CalendarID) != nil:
		return runners.ListSchedulesResponse{}, errs.E(errs.InvalidArgument, "calendar_id must be a calendar's id")
	}
	if err := text.Check("package", q.Package); err != nil {
		return runners.ListSchedulesResponse{}, err
	}
	if q.After, err = decodeNameCursor(req.Cursor); err != nil {
		return runners.ListSchedulesResponse{}, err
	}
	scs, err := s.Store.ListSchedules(ctx, q)
	if err != nil {
		return runners.ListSchedulesResponse{}, err
	}
	out := runners.ListSchedulesResponse{Items: scs}
	if len(scs) > limit {
		out.Items = scs[:limit]
		last := out.Items[limit-1]
		out.NextCursor = encodeCursor(NameCursor{Name: last.Name, ID: last.ID})
	}
	return out, nil
}

// RunNow starts a schedule's job now as the caller (OPERATOR and up): a
// fire of kind manual, audited as schedule.run. A repeat under the same
// idempotency key returns the first one's fire. A job that cannot be
// created for a reason the user can act on is recorded as a failed fire.
func (s *Service) RunNow(ctx context.Context, id, key string) (runners.ScheduleFire, error) {
	if err := firstError(requireOperator(ctx, "running a schedule now"), checkID("schedule", id)); err != nil {
		return runners.ScheduleFire{}, err
	}
	sc, err := s.Store.Schedule(ctx, strings.ToLower(id))
	if err != nil {
		return runners.ScheduleFire{}, err
	}
	spec := SpecOf(sc)
	spec.IdempotencyKey = key
	jobID, jobErr := s.Jobs.StartManual(ctx, spec)
	if jobErr != nil && !userError(jobErr) {
		return runners.ScheduleFire{}, wrapf(jobErr, "run schedule %s now", sc.ID)
	}
	if jobErr == nil && key != "" {
		if f, ok, err := s.Store.FireOfJob(ctx, sc.ID, jobID); err != nil || ok {
			return f, err
		}
	}
	now := s.now()
	f := runners.ScheduleFire{ScheduleID: sc.ID, ScheduleName: sc.Name, FireTime: now, Kind: runners.FireManual,
		Outcome: runners.FireJobCreated, RecordedAt: now}
	ev := scheduleEvent(runners.ActionScheduleRun, sc, nil)
	if jobErr != nil {
		f.Outcome, f.Reason = runners.FireFailed, message(jobErr)
		ev.Outcome, ev.Reason = audit.Failure, f.Reason
	} else {
		f.JobID = &jobID
		ev.Details["job_id"] = jobID
		lag := 0.0
		f.LagSeconds = &lag
	}
	f, err = s.Store.RecordManualFire(ctx, f, ev)
	if err != nil {
		return runners.ScheduleFire{}, err
	}
	s.Meter.Fire(f.Outcome)
	if jobErr != nil {
		return f, jobErr
	}
	return f, nil
}

// userError reports whether err is one the user can act on (the package
// vanished, the license, the parameters): a fire with it fails for good.
// Anything else may pass and is tried again.
func userError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch errs.KindOf(err) {
	case errs.Internal, errs.Unavailable, errs.RateLimited:
		return false
	}
	return true
}

// message is the text of err a user may read.
func message(err error) string {
	_, msg := errs.Public(err)
	return msg
}
