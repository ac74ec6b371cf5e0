package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/jackc/pgx/v5"
)

// Attempts lists a job's attempts, oldest first.
func (s JobStore) Attempts(ctx context.Context, jobID string) ([]job.Attempt, error) {
	rows, err := s.pool.Query(ctx, `SELECT number, runner_id::text, runner_name, started_at, running_at, ended_at, outcome, reason
		FROM job_attempts WHERE job_id = $1 ORDER BY number`, jobID)
	if err != nil {
		return nil, fmt.Errorf("read attempts of job %s: %w", jobID, err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Attempt, error) {
		var a job.Attempt
		if err := r.Scan(&a.Number, &a.RunnerID, &a.RunnerName, &a.StartedAt, &a.RunningAt, &a.EndedAt, &a.Outcome, &a.Reason); err != nil {
			return a, err
		}
		a.StartedAt = a.StartedAt.UTC()
		for _, t := range []**time.Time{&a.RunningAt, &a.EndedAt} {
			if *t != nil {
				u := (*t).UTC()
				*t = &u
			}
		}
		return a, nil
	})
	if err != nil {
		return nil, fmt.Errorf("read attempts of job %s: %w", jobID, err)
	}
	return as, nil
}
