package natsapi

import (
	"context"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/schedule"
)

// ScheduleJobs shows the jobs domain to the schedules: what a fire starts
// is checked and created as any job, its schedule and fire time recorded.
func ScheduleJobs(jobs *job.Service) schedule.Jobs { return scheduleJobs{jobs} }

type scheduleJobs struct{ jobs *job.Service }

func newJob(spec schedule.JobSpec) job.NewJob {
	in := job.NewJob{Package: spec.Package, Version: spec.Version, Environment: spec.Environment, RunnerID: spec.RunnerID,
		Labels: spec.Labels, Parameters: spec.Parameters, MaxAttempts: spec.MaxAttempts, TimeoutSeconds: spec.TimeoutSeconds,
		IdempotencyKey: spec.IdempotencyKey, ScheduleID: spec.ScheduleID}
	if !spec.ScheduledFor.IsZero() {
		at := spec.ScheduledFor.UTC()
		in.ScheduledFor = &at
	}
	return in
}

func (s scheduleJobs) Check(ctx context.Context, spec schedule.JobSpec) error {
	return s.jobs.Check(ctx, newJob(spec))
}

// StartScheduled creates the job as the schedule: its audit event's actor
// is the system acting for "schedule:<id>".
func (s scheduleJobs) StartScheduled(ctx context.Context, spec schedule.JobSpec) (string, error) {
	info := caller.From(ctx)
	info.Actor = caller.Actor{Type: audit.ActorSystem, ID: "schedule:" + spec.ScheduleID}
	j, err := s.jobs.CreateScheduled(caller.With(ctx, info), newJob(spec))
	return j.ID, err
}

func (s scheduleJobs) StartManual(ctx context.Context, spec schedule.JobSpec) (string, error) {
	j, err := s.jobs.Create(ctx, newJob(spec))
	return j.ID, err
}
