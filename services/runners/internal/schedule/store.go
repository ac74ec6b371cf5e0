package schedule

import (
	"context"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
)

// Store keeps schedules, calendars and fires in PostgreSQL. Errors meant
// for the user are errs-coded (NotFound, Conflict).
type Store interface {
	CreateCalendar(ctx context.Context, c runners.Calendar, ev audit.Event) error
	Calendar(ctx context.Context, id string) (runners.Calendar, error)
	// CalendarsByID returns those of ids that exist.
	CalendarsByID(ctx context.Context, ids []string) ([]runners.Calendar, error)
	// UpdateCalendar replaces a calendar's spec (c.CreatedBy, c.CreatedAt
	// are ignored) and returns it as stored.
	UpdateCalendar(ctx context.Context, c runners.Calendar, ev audit.Event) (runners.Calendar, error)
	// DeleteCalendar deletes a calendar no schedule uses; one in use is a
	// Conflict naming the schedules.
	DeleteCalendar(ctx context.Context, id string, ev audit.Event) error
	// ListCalendars pages by name (case-insensitively), after the name of after.
	ListCalendars(ctx context.Context, limit int, after *NameCursor) ([]runners.Calendar, error)

	CreateSchedule(ctx context.Context, sc runners.Schedule, ev audit.Event) error
	// Schedule returns a schedule with its last fire.
	Schedule(ctx context.Context, id string) (runners.Schedule, error)
	// ChangeSchedule locks a schedule's row, lets change alter it (its
	// calendars, spec, state and next fire time) and stores it with the
	// event change returns, in one transaction.
	ChangeSchedule(ctx context.Context, id string, change func(*runners.Schedule) (audit.Event, error)) (runners.Schedule, error)
	DeleteSchedule(ctx context.Context, id string, ev audit.Event) error
	ListSchedules(ctx context.Context, q ScheduleQuery) ([]runners.Schedule, error)
	// ScheduleCounts counts schedules by state.
	ScheduleCounts(ctx context.Context) (map[string]int, error)

	// FireDue takes up to limit active schedules due at now (the others'
	// instances skip those it holds), has decide plan each, and writes the
	// plans' fires (a fire time already recorded is left alone: another
	// instance made it) and next fire times, in one transaction. It returns
	// the pending fires it inserted and how many schedules it took.
	FireDue(ctx context.Context, now time.Time, limit int, decide func(Due) Plan) ([]Firing, int, error)
	// TakeExpired re-leases up to limit pending scheduled fires whose lease
	// ended before now, until leaseUntil.
	TakeExpired(ctx context.Context, now, leaseUntil time.Time, limit int) ([]Firing, error)
	// PromoteQueued makes the oldest queued fire of each schedule whose
	// previous job ended (and that has no pending fire) pending until leaseUntil.
	PromoteQueued(ctx context.Context, leaseUntil time.Time, limit int) ([]Firing, error)
	// FinishFires records what pending fires came to (each only while
	// still pending) and the schedules' last jobs.
	FinishFires(ctx context.Context, done []Finished) error
	// RecordManualFire inserts a run now's fire (its fire time moved on by
	// a microsecond should a fire hold it) with its event; it returns the fire.
	RecordManualFire(ctx context.Context, f runners.ScheduleFire, ev audit.Event) (runners.ScheduleFire, error)
	// FireOfJob returns the manual fire that made job id, if any.
	FireOfJob(ctx context.Context, scheduleID, jobID string) (runners.ScheduleFire, bool, error)
	ListFires(ctx context.Context, q FireQuery) ([]runners.ScheduleFire, error)
}

// NameCursor is where a page by name starts after.
type NameCursor struct{ Name, ID string }

// ScheduleQuery selects a page of schedules.
type ScheduleQuery struct {
	Limit       int
	After       *NameCursor
	State       string
	Environment string
	Package     string
	CalendarID  string
}

// FireCursor is where a page of fires starts after (newest first).
type FireCursor struct {
	FireTime   time.Time
	ScheduleID string
}

// FireQuery selects a page of fires, newest fire time first.
type FireQuery struct {
	ScheduleID string
	Limit      int
	After      *FireCursor
	Outcome    string
	Since      time.Time
	Until      time.Time
}

// Due is a due schedule as the fire loop decides about it.
type Due struct {
	Schedule  runners.Schedule
	Calendars []runners.Calendar // in the schedule's order
	// LastJobStatus is the status of the schedule's previous job ("" : none).
	LastJobStatus string
	Pending       int // fires of it pending
	Queued        int // fires of it queued
}

// Plan is what a due schedule comes to: fires to record, its next fire time.
type Plan struct {
	Fires      []runners.ScheduleFire // outcome pending: lease_until set by LeaseUntil
	LeaseUntil time.Time
	NextFireAt *time.Time
	State      string
}

// Firing is a pending fire to turn into a job.
type Firing struct {
	Fire runners.ScheduleFire
	Spec JobSpec // ScheduledFor and IdempotencyKey not yet set
}

// Finished is what a pending fire came to.
type Finished struct {
	ScheduleID string
	FireTime   time.Time
	Outcome    string
	Reason     string
	JobID      string
	RecordedAt time.Time
}
