// Package schedule is the runners service's schedules and calendars: jobs
// that start themselves at the fire times of a cron expression or an
// interval, skipping the non-working days of their calendars.
//
// The fire loop (Run) is safe with several instances of the service on one
// database: due schedules are taken with FOR UPDATE SKIP LOCKED, and a fire
// time is a row whose primary key (schedule, fire time) makes it fire once.
// A fire that creates a job is first recorded pending under a lease; the
// job is created under an idempotency key derived from the schedule and the
// fire time, so an instance that takes over an expired lease (the first
// one crashed between creating the job and recording it) finds the same job.
package schedule

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/access"
)

// Defaults of Deps and bounds of the fire loop.
const (
	DefaultTick = 200 * time.Millisecond
	// FireLease is how long an instance holds a pending fire before another
	// may take it over.
	FireLease = 30 * time.Second
	// DueBatch bounds the schedules one transaction of the loop takes.
	DueBatch = 500
	// Workers is how many jobs of a tick's fires are created at once.
	Workers = 8
	// QueuedBatch bounds the queued fires promoted in one tick.
	QueuedBatch = 500
)

// Meter counts fires (may be nil).
type Meter interface {
	// Fire counts a fire that reached outcome.
	Fire(outcome string)
	// FireLag observes the time from a fire time to its job's creation.
	FireLag(d time.Duration)
}

// Deps are what a Service is built from.
type Deps struct {
	Store Store
	Jobs  Jobs
	Meter Meter
	Log   *slog.Logger
	Now   func() time.Time // time.Now unless a test controls the clock
	Tick  time.Duration    // DefaultTick when zero
	// MisfireGrace is how late a fire time may be and still fire
	// (runners.schedule_misfire_grace); contract MisfireGraceSeconds when zero.
	MisfireGrace time.Duration
}

// Service is the schedules and calendars domain's operations.
type Service struct{ Deps }

// NewService checks d and fills its defaults.
func NewService(d Deps) (*Service, error) {
	if d.Store == nil || d.Jobs == nil || d.Log == nil {
		return nil, errors.New("schedule service: missing dependency")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Tick <= 0 {
		d.Tick = DefaultTick
	}
	if d.MisfireGrace <= 0 {
		d.MisfireGrace = runners.MisfireGraceSeconds * time.Second
	}
	if d.Meter == nil {
		d.Meter = noMeter{}
	}
	return &Service{Deps: d}, nil
}

type noMeter struct{}

func (noMeter) Fire(string)           {}
func (noMeter) FireLag(time.Duration) {}

// now is the service's clock at the precision PostgreSQL keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func requireReader(ctx context.Context) error {
	return access.Require(ctx, identity.RoleOperator, "reading schedules and calendars")
}

func requireOperator(ctx context.Context, what string) error {
	return access.Require(ctx, identity.RoleOperator, what)
}

func requireDeveloper(ctx context.Context, what string) error {
	return access.Require(ctx, identity.RoleDeveloper, what)
}

// event is an audit event about a schedule or calendar; the actor comes from ctx.
func event(action, targetType, id string, details map[string]any) audit.Event {
	if details == nil {
		details = map[string]any{}
	}
	return audit.Event{Action: action, Target: audit.Target{Type: targetType, ID: id}, Details: details}
}

// scheduleEvent describes a schedule in its audit event.
func scheduleEvent(action string, sc runners.Schedule, extra map[string]any) audit.Event {
	d := map[string]any{"name": sc.Name, "package": sc.Package, "version": sc.Version, "environment": sc.Environment,
		"state": sc.State}
	if sc.Cron != "" {
		d["cron"] = sc.Cron
	} else {
		d["interval_seconds"] = sc.IntervalSeconds
	}
	d["time_zone"] = sc.TimeZone
	for k, v := range extra {
		d[k] = v
	}
	return event(action, "schedule", sc.ID, d)
}

// actorID is who asks, as a schedule or calendar records its creator.
func actorID(ctx context.Context) string { return caller.ActorFromContext(ctx).ID }
