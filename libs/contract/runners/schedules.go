package runners

import (
	"encoding/json"
	"time"
)

// Subjects of schedules and calendars (user side). The gateway checks the
// route's role; the service checks it again: any signed-in role reads them
// and may pause, resume or run a schedule now (OPERATOR starts jobs anyway);
// creating, changing and deleting schedules and calendars takes DEVELOPER
// (or ADMIN), since a schedule starts jobs unattended for as long as it lives.
const (
	SubjectScheduleCreate = "exekra.runners.v1.schedules.create" // ScheduleSpec -> Schedule
	SubjectScheduleGet    = "exekra.runners.v1.schedules.get"    // ScheduleRequest -> Schedule
	SubjectScheduleList   = "exekra.runners.v1.schedules.list"   // ListSchedulesRequest -> ListSchedulesResponse
	SubjectScheduleUpdate = "exekra.runners.v1.schedules.update" // UpdateScheduleRequest -> Schedule
	SubjectScheduleDelete = "exekra.runners.v1.schedules.delete" // ScheduleRequest -> ScheduleDeleted
	SubjectSchedulePause  = "exekra.runners.v1.schedules.pause"  // ScheduleRequest -> Schedule
	SubjectScheduleResume = "exekra.runners.v1.schedules.resume" // ScheduleRequest -> Schedule
	// SubjectScheduleRun starts the schedule's job now, as its signed-in
	// caller (a fire of kind "manual"): RunScheduleRequest -> ScheduleFire.
	SubjectScheduleRun   = "exekra.runners.v1.schedules.run"
	SubjectScheduleNext  = "exekra.runners.v1.schedules.next"  // NextFiresRequest -> NextFires
	SubjectScheduleFires = "exekra.runners.v1.schedules.fires" // ListFiresRequest -> ListFiresResponse

	SubjectCalendarCreate = "exekra.runners.v1.calendars.create" // CalendarSpec -> Calendar
	SubjectCalendarGet    = "exekra.runners.v1.calendars.get"    // CalendarRequest -> Calendar
	SubjectCalendarList   = "exekra.runners.v1.calendars.list"   // ListCalendarsRequest -> ListCalendarsResponse
	SubjectCalendarUpdate = "exekra.runners.v1.calendars.update" // UpdateCalendarRequest -> Calendar
	// SubjectCalendarDelete deletes a calendar no schedule uses (one in use
	// is a conflict naming them): CalendarRequest -> CalendarDeleted.
	SubjectCalendarDelete = "exekra.runners.v1.calendars.delete"
)

// HTTP routes of schedules and calendars.
const (
	PathSchedules      = "/api/v1/schedules"
	PathSchedule       = "/api/v1/schedules/:id"
	PathSchedulePause  = "/api/v1/schedules/:id/pause"
	PathScheduleResume = "/api/v1/schedules/:id/resume"
	PathScheduleRun    = "/api/v1/schedules/:id/run"
	PathScheduleNext   = "/api/v1/schedules/:id/next"  // ?count=N
	PathScheduleFires  = "/api/v1/schedules/:id/fires" // ?limit=&cursor=&outcome=
	// PathFires lists the fires of every schedule, newest first.
	PathFires     = "/api/v1/schedule-fires" // ?limit=&cursor=&outcome=&since=&until=
	PathCalendars = "/api/v1/calendars"
	PathCalendar  = "/api/v1/calendars/:id"
)

// SchedulePath is PathSchedule of schedule id.
func SchedulePath(id string) string { return fill(PathSchedule, id) }

// CalendarPath is PathCalendar of calendar id.
func CalendarPath(id string) string { return fill(PathCalendar, id) }

// Audit actions of schedules and calendars. A fire's job is audited as any
// job (job.create, its details carrying schedule_id and scheduled_for).
const (
	ActionScheduleCreate = "schedule.create"
	ActionScheduleUpdate = "schedule.update"
	ActionSchedulePause  = "schedule.pause"
	ActionScheduleResume = "schedule.resume"
	ActionScheduleDelete = "schedule.delete"
	ActionScheduleRun    = "schedule.run" // run now
	ActionCalendarCreate = "calendar.create"
	ActionCalendarUpdate = "calendar.update"
	ActionCalendarDelete = "calendar.delete"
)

// Schedule states.
const (
	ScheduleActive = "active"
	SchedulePaused = "paused"
	ScheduleEnded  = "ended" // past its end_at: it fires no more (an update with a later end_at revives it)
)

// ScheduleStates lists every schedule state.
var ScheduleStates = []string{ScheduleActive, SchedulePaused, ScheduleEnded}

// Concurrency policies: what a fire does while the schedule's previous job
// is still pending, claimed or running.
const (
	ConcurrencySkip  = "skip"  // the fire is recorded as skipped_concurrency (the default)
	ConcurrencyQueue = "queue" // the fire waits (queued) and its job starts when the previous job ends; at most MaxQueuedFires wait
	ConcurrencyAllow = "allow" // the job starts beside the previous one
)

// ConcurrencyPolicies lists every concurrency policy.
var ConcurrencyPolicies = []string{ConcurrencySkip, ConcurrencyQueue, ConcurrencyAllow}

// Misfire policies: what happens to fire times that passed while no runners
// service could fire them (the Hub was stopped) by more than MisfireGraceSeconds.
const (
	MisfireFireOnce = "fire_once" // the latest missed time fires now; the ones before it are recorded as missed (the default)
	MisfireSkip     = "skip"      // every missed time is recorded as missed; the next one fires on time
)

// MisfirePolicies lists every misfire policy.
var MisfirePolicies = []string{MisfireFireOnce, MisfireSkip}

// Fire outcomes (ScheduleFire.Outcome).
const (
	FirePending            = "pending"             // being fired now: its job is being created
	FireJobCreated         = "job_created"         // its job exists (job_id)
	FireSkippedCalendar    = "skipped_calendar"    // the date is a non-working day of one of the schedule's calendars
	FireSkippedConcurrency = "skipped_concurrency" // the previous job was still live (policy skip, or queue full)
	FireQueued             = "queued"              // waits for the previous job to end (policy queue)
	FireMissed             = "missed"              // the Hub was down at the time (misfire policy)
	FireFailed             = "failed"              // no job could be created; reason says why (the package vanished, the license, the parameters)
)

// FireOutcomes lists every fire outcome.
var FireOutcomes = []string{FirePending, FireJobCreated, FireSkippedCalendar, FireSkippedConcurrency, FireQueued,
	FireMissed, FireFailed}

// Fire kinds.
const (
	FireScheduled = "scheduled" // a fire time of the schedule
	FireManual    = "manual"    // run now
)

// Bounds of schedules.
const (
	MaxScheduleNameLength = 100
	MaxCalendarDates      = 3660 // ten years of days
	MaxCalendarsPerSched  = 10
	MinIntervalSeconds    = 1
	MaxIntervalSeconds    = 366 * 24 * 3600
	DefaultNextFires      = 10
	MaxNextFires          = 100
	// MisfireGraceSeconds is how late a fire may still be made as if on
	// time; a fire time older than that when a runners service gets to it
	// was missed, and the schedule's misfire policy applies.
	MisfireGraceSeconds = 60
	// MaxMissedRecorded bounds how many missed fire times one catch-up
	// records one by one; the rest are counted in the last one's reason.
	MaxMissedRecorded = 1000
	// MaxQueuedFires bounds the fires waiting under policy queue.
	MaxQueuedFires = 10
)

// ScheduleSpec is what a schedule is made of (POST /api/v1/schedules, and
// PUT /api/v1/schedules/{id}, which replaces it whole). Exactly one of Cron
// (5 fields "min hour dom month dow", or 6 with seconds first; names and
// the descriptors @hourly, @daily, @weekly, @monthly, @yearly allowed) and
// IntervalSeconds is set. Cron is read in TimeZone (an IANA name, "UTC"
// when empty); an interval counts from StartAt (the creation when none).
// Version "" or "latest" resolves to the newest version at each fire.
// MaxAttempts 0 means 1; TimeoutSeconds 0 means 3600. Parameters are held
// to the package's declaration at creation and again at each fire.
type ScheduleSpec struct {
	Name            string          `json:"name"`
	Description     string          `json:"description,omitempty"`
	Package         string          `json:"package"`
	Version         string          `json:"version,omitempty"`
	Environment     string          `json:"environment"`
	RunnerID        string          `json:"runner_id,omitempty"`
	Labels          []string        `json:"labels,omitempty"`
	Parameters      json.RawMessage `json:"parameters,omitempty"`
	MaxAttempts     int             `json:"max_attempts,omitempty"`
	TimeoutSeconds  int             `json:"timeout_seconds,omitempty"`
	Cron            string          `json:"cron,omitempty"`
	IntervalSeconds int             `json:"interval_seconds,omitempty"`
	TimeZone        string          `json:"time_zone,omitempty"`
	StartAt         *time.Time      `json:"start_at,omitempty"`
	EndAt           *time.Time      `json:"end_at,omitempty"`
	CalendarIDs     []string        `json:"calendar_ids,omitempty"`
	Concurrency     string          `json:"concurrency,omitempty"` // ConcurrencyPolicies; "" means skip
	Misfire         string          `json:"misfire,omitempty"`     // MisfirePolicies; "" means fire_once
	// Paused creates the schedule paused.
	Paused bool `json:"paused,omitempty"`
}

// Schedule is a schedule as the API shows it: its spec with the defaults
// filled in, its state and what it did last. NextFireAt is null unless active.
type Schedule struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Description     string          `json:"description"`
	Package         string          `json:"package"`
	Version         string          `json:"version"` // "latest" when it follows the newest
	Environment     string          `json:"environment"`
	RunnerID        *string         `json:"runner_id"`
	Labels          []string        `json:"labels"`
	Parameters      json.RawMessage `json:"parameters"`
	MaxAttempts     int             `json:"max_attempts"`
	TimeoutSeconds  int             `json:"timeout_seconds"`
	Cron            string          `json:"cron"`
	IntervalSeconds int             `json:"interval_seconds"`
	TimeZone        string          `json:"time_zone"`
	StartAt         *time.Time      `json:"start_at"`
	EndAt           *time.Time      `json:"end_at"`
	CalendarIDs     []string        `json:"calendar_ids"`
	Concurrency     string          `json:"concurrency"`
	Misfire         string          `json:"misfire"`
	State           string          `json:"state"`
	NextFireAt      *time.Time      `json:"next_fire_at"`
	LastFire        *ScheduleFire   `json:"last_fire"`
	CreatedBy       string          `json:"created_by"`
	CreatedAt       time.Time       `json:"created_at"`
	UpdatedAt       time.Time       `json:"updated_at"`
}

// ScheduleFire is one fire of a schedule: a fire time (kind scheduled,
// unique per schedule and instant) or a run now (kind manual). FireTime is
// the instant it was due; RecordedAt when its outcome was decided; for a
// fire that created a job, LagSeconds is from FireTime to the job's creation.
type ScheduleFire struct {
	ScheduleID   string    `json:"schedule_id"`
	ScheduleName string    `json:"schedule_name"`
	FireTime     time.Time `json:"fire_time"`
	Kind         string    `json:"kind"`
	Outcome      string    `json:"outcome"`
	Reason       string    `json:"reason"`
	JobID        *string   `json:"job_id"`
	RecordedAt   time.Time `json:"recorded_at"`
	LagSeconds   *float64  `json:"lag_seconds"`
}

// ScheduleRequest names one schedule.
type ScheduleRequest struct {
	ID string `json:"id"`
}

// UpdateScheduleRequest replaces schedule ID's spec (its state is kept
// unless Spec.Paused asks for paused).
type UpdateScheduleRequest struct {
	ID   string       `json:"id"`
	Spec ScheduleSpec `json:"spec"`
}

// ScheduleDeleted answers a delete. The jobs the schedule started stay.
type ScheduleDeleted struct{}

// RunScheduleRequest runs schedule ID now; IdempotencyKey comes from the
// Idempotency-Key header, as for a job start.
type RunScheduleRequest struct {
	ID             string `json:"id"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// ListSchedulesRequest pages through schedules by name. Limit 0 means 50;
// at most 500.
type ListSchedulesRequest struct {
	Limit       int    `json:"limit,omitempty"`
	Cursor      string `json:"cursor,omitempty"`
	State       string `json:"state,omitempty"`
	Environment string `json:"environment,omitempty"`
	Package     string `json:"package,omitempty"`
	CalendarID  string `json:"calendar_id,omitempty"`
}

// ListSchedulesResponse is one page; NextCursor is "" after the last.
type ListSchedulesResponse struct {
	Items      []Schedule `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// NextFiresRequest asks for the next Count (0: DefaultNextFires; at most
// MaxNextFires) fire times of schedule ID from now on.
type NextFiresRequest struct {
	ID    string `json:"id"`
	Count int    `json:"count,omitempty"`
}

// NextFire is one coming fire time: At in UTC, Local the same instant in
// the schedule's time zone (RFC 3339 with its offset), and the calendar
// that will skip it, if any.
type NextFire struct {
	At                time.Time `json:"at"`
	Local             string    `json:"local"`
	SkippedByCalendar *string   `json:"skipped_by_calendar"`
}

// NextFires lists the coming fire times (none for a paused or ended schedule).
type NextFires struct {
	TimeZone string     `json:"time_zone"`
	Items    []NextFire `json:"items"`
}

// ListFiresRequest pages through fires, newest fire time first: of one
// schedule (ScheduleID) or of all. Since and Until (inclusive) bound the
// fire time. Limit 0 means 50; at most 500.
type ListFiresRequest struct {
	ScheduleID string    `json:"schedule_id,omitempty"`
	Limit      int       `json:"limit,omitempty"`
	Cursor     string    `json:"cursor,omitempty"`
	Outcome    string    `json:"outcome,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Until      time.Time `json:"until,omitzero"`
}

// ListFiresResponse is one page; NextCursor is "" after the last.
type ListFiresResponse struct {
	Items      []ScheduleFire `json:"items"`
	NextCursor string         `json:"next_cursor"`
}

// CalendarSpec is a calendar of non-working days: a fire time whose date in
// TimeZone ("UTC" when empty) is one of Dates (YYYY-MM-DD) is skipped by
// every schedule using the calendar. PUT replaces it whole.
type CalendarSpec struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	TimeZone    string   `json:"time_zone,omitempty"`
	Dates       []string `json:"dates"`
}

// Calendar is a calendar as the API shows it (Dates sorted, without repeats).
type Calendar struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	TimeZone    string    `json:"time_zone"`
	Dates       []string  `json:"dates"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// CalendarRequest names one calendar.
type CalendarRequest struct {
	ID string `json:"id"`
}

// UpdateCalendarRequest replaces calendar ID's spec.
type UpdateCalendarRequest struct {
	ID   string       `json:"id"`
	Spec CalendarSpec `json:"spec"`
}

// CalendarDeleted answers a delete.
type CalendarDeleted struct{}

// ListCalendarsRequest pages through calendars by name. Limit 0 means 50;
// at most 500.
type ListCalendarsRequest struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// ListCalendarsResponse is one page; NextCursor is "" after the last.
type ListCalendarsResponse struct {
	Items      []Calendar `json:"items"`
	NextCursor string     `json:"next_cursor"`
}
