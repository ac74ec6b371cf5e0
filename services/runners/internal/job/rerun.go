package job

import (
	"context"
	"fmt"
)

// Rerun starts a new job like job id (OPERATOR and up): the same package
// version, environment, target runner or labels, parameters, attempts and
// timeout, whatever became of the first. It is created, checked, audited
// (job.create with rerun_of) and queued as any job, and honours an
// idempotency key as Create does.
func (s *Service) Rerun(ctx context.Context, id, idempotencyKey string) (Job, error) {
	if err := firstError(requireOperator(ctx), checkID(id)); err != nil {
		return Job{}, err
	}
	src, err := s.Store.JobByID(ctx, id)
	if err != nil {
		return Job{}, fmt.Errorf("find job %s to run again: %w", id, err)
	}
	return s.Create(ctx, NewJob{Package: src.Package.Name, Version: src.Package.Version, Environment: src.Environment,
		RunnerID: src.TargetRunnerID, Labels: src.Labels, Parameters: src.Parameters, MaxAttempts: src.MaxAttempts,
		TimeoutSeconds: src.TimeoutSeconds, IdempotencyKey: idempotencyKey, RerunOf: src.ID})
}
