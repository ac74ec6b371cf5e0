package schedule

import (
	"context"
	"encoding/json"
	"time"
)

// JobSpec is the job a fire starts.
type JobSpec struct {
	Package        string
	Version        string // "" : the newest version at the fire
	Environment    string
	RunnerID       string
	Labels         []string
	Parameters     json.RawMessage
	MaxAttempts    int
	TimeoutSeconds int
	ScheduleID     string
	// ScheduledFor is the fire time (zero for a run now).
	ScheduledFor time.Time
	// IdempotencyKey makes a repeat return the job the first call created.
	IdempotencyKey string
}

// Jobs is what the schedules need of the jobs domain (natsapi adapts it;
// neither domain imports the other).
type Jobs interface {
	// Check validates spec as a job start would (the package and version
	// exist, the parameters fit its declaration, the target runner fits)
	// and starts nothing; the error is errs-coded for the user.
	Check(ctx context.Context, spec JobSpec) error
	// StartScheduled starts the job of a fire: no user is asking, the job
	// is created by "schedule:<id>" and audited with a system actor. A
	// repeat under spec.IdempotencyKey returns the first call's job id.
	StartScheduled(ctx context.Context, spec JobSpec) (jobID string, err error)
	// StartManual starts a run now as the signed-in caller in ctx (OPERATOR
	// and up), honouring spec.IdempotencyKey as a job start does.
	StartManual(ctx context.Context, spec JobSpec) (jobID string, err error)
}
