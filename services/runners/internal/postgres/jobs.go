package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/jackc/pgx/v5"
)

// JobStore reads and writes jobs, packages and job logs in the runners schema.
type JobStore struct{ *Store }

var _ job.Store = JobStore{}

// Jobs is the jobs store on the same pool and outbox.
func (s *Store) Jobs() JobStore { return JobStore{s} }

var errNoJob = errs.E(errs.NotFound, "no job has this id")

const jobColumns = jobFields + ",\n" + jobNames + ",\n" + jobAssets

// jobFields are the jobs table's own columns, as scanJob reads them first.
const jobFields = `id::text, package_name, package_version, package_sha256, package_size, environment,
	coalesce(target_runner_id::text, ''), labels, parameters, timeout_seconds, max_attempts, status, attempt,
	coalesce(runner_id::text, ''), lease_expires_at, cancel_requested, created_by, created_at, claimed_at,
	started_at, finished_at, exit_code, coalesce(error, ''), log_seq, log_bytes, log_truncated,
	coalesce(idempotency_key, ''), coalesce(request_hash, ''), unstarted_claims, coalesce(rerun_of::text, ''),
	coalesce(schedule_id::text, ''), scheduled_for`

// jobNames are the names of a job's runner, target runner and schedule
// (other tables'): what people see; jobUnnamed stands in for them where
// nobody does (a job read only to be changed: three index reads fewer).
const (
	jobNames = `coalesce((SELECT name FROM runners WHERE runners.id = jobs.runner_id), ''),
	coalesce((SELECT name FROM runners WHERE runners.id = jobs.target_runner_id), ''),
	coalesce((SELECT name FROM schedules WHERE schedules.id = jobs.schedule_id), '')`
	jobUnnamed = `''::text, ''::text, ''::text`
)

// jobAssets are the assets the job's package declares (its runner gets them).
const jobAssets = `coalesce((SELECT p.assets FROM packages p WHERE p.name = jobs.package_name AND p.version = jobs.package_version), '{}')`

func scanJob(row pgx.Row) (job.Job, error) {
	var j job.Job
	var params []byte
	err := row.Scan(&j.ID, &j.Package.Name, &j.Package.Version, &j.Package.SHA256, &j.Package.SizeBytes, &j.Environment,
		&j.TargetRunnerID, &j.Labels, &params, &j.TimeoutSeconds, &j.MaxAttempts, &j.Status, &j.Attempt,
		&j.RunnerID, &j.LeaseExpiresAt, &j.CancelRequested, &j.CreatedBy, &j.CreatedAt, &j.ClaimedAt,
		&j.StartedAt, &j.FinishedAt, &j.ExitCode, &j.Error, &j.LogSeq, &j.LogBytes, &j.LogTruncated,
		&j.IdempotencyKey, &j.RequestHash, &j.UnstartedClaims, &j.RerunOf, &j.ScheduleID, &j.ScheduledFor,
		&j.RunnerName, &j.TargetRunnerName, &j.ScheduleName, &j.Package.Assets)
	if err != nil {
		return job.Job{}, err
	}
	j.Parameters = params
	if j.Labels == nil {
		j.Labels = []string{}
	}
	j.CreatedAt = j.CreatedAt.UTC()
	for _, t := range []**time.Time{&j.LeaseExpiresAt, &j.ClaimedAt, &j.StartedAt, &j.FinishedAt, &j.ScheduledFor} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return j, nil
}

func collectJobs(rows pgx.Rows, err error) ([]job.Job, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Job, error) { return scanJob(r) })
}

// FindPackage returns a published package version; "latest" is the highest
// by semver precedence (the package list's rule), the later published of
// two that differ only in build metadata.
func (s JobStore) FindPackage(ctx context.Context, name, version string) (job.Package, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, version, sha256, size_bytes, parameters, coalesce(assets, '{}') FROM packages
		WHERE name = $1 AND ($2 = 'latest' OR version = $2) ORDER BY published_at DESC`, name, version)
	if err != nil {
		return job.Package{}, fmt.Errorf("find package %s %s: %w", name, version, err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Package, error) {
		var p job.Package
		var params []byte
		if err := r.Scan(&p.Name, &p.Version, &p.SHA256, &p.SizeBytes, &params, &p.Assets); err != nil {
			return p, err
		}
		var err error
		p.Parameters, err = decodeParameters(params)
		return p, err
	})
	if err != nil {
		return job.Package{}, fmt.Errorf("find package %s %s: %w", name, version, err)
	}
	if len(ps) == 0 {
		return job.Package{}, errs.Ef(errs.NotFound, "no package %q version %q is published", name, version)
	}
	best := ps[0]
	for _, p := range ps[1:] {
		if pkgstore.CompareVersions(p.Version, best.Version) > 0 {
			best = p
		}
	}
	return best, nil
}

// CreateJob inserts a pending job and records ev; job.ErrKeyTaken when its
// creator already has a job under its idempotency key.
func (s JobStore) CreateJob(ctx context.Context, j job.Job, ev audit.Event) error {
	return s.CreateJobs(ctx, []job.Job{j}, []audit.Event{ev})
}

// CreateJobs inserts pending jobs, each with its event (evs[i] goes with
// js[i]), all or none; job.ErrKeyTaken when a creator already has a job
// under one of their idempotency keys.
func (s JobStore) CreateJobs(ctx context.Context, js []job.Job, evs []audit.Event) error {
	if len(js) != len(evs) {
		return fmt.Errorf("insert jobs: %d jobs with %d events", len(js), len(evs))
	}
	// Every row goes in one round trip, without BEGIN and COMMIT of its
	// own: a batch runs as one implicit transaction (pgx's SendBatch), so
	// no job is written without its event, nor any unless all are.
	b := &pgx.Batch{}
	for i, j := range js {
		b.Queue(`INSERT INTO jobs (id, package_name, package_version, package_sha256, package_size,
			environment, target_runner_id, labels, parameters, timeout_seconds, max_attempts, status, attempt,
			created_by, created_at, idempotency_key, request_hash, rerun_of, schedule_id, scheduled_for)
			VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::uuid, $8, $9::jsonb, $10, $11, $12, $13, $14, $15,
			        NULLIF($16, ''), NULLIF($17, ''), NULLIF($18, '')::uuid, NULLIF($19, '')::uuid, $20)`,
			j.ID, j.Package.Name, j.Package.Version, j.Package.SHA256, j.Package.SizeBytes, j.Environment,
			j.TargetRunnerID, j.Labels, string(j.Parameters), j.TimeoutSeconds, j.MaxAttempts, j.Status, j.Attempt,
			j.CreatedBy, j.CreatedAt, j.IdempotencyKey, j.RequestHash, j.RerunOf, j.ScheduleID, j.ScheduledFor)
		if _, err := s.events.Queue(ctx, b, evs[i]); err != nil {
			return err
		}
	}
	err := s.pool.SendBatch(ctx, b).Close()
	if pgCode(err) == uniqueViolation { // jobs_idempotency_idx: the ids are fresh UUIDs
		return job.ErrKeyTaken
	}
	if err != nil {
		return fmt.Errorf("insert jobs: %w", err)
	}
	return nil
}

// JobByKey returns the job createdBy made under an idempotency key.
func (s JobStore) JobByKey(ctx context.Context, createdBy, key string) (job.Job, bool, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, "SELECT "+jobColumns+" FROM jobs WHERE created_by = $1 AND idempotency_key = $2",
		createdBy, key))
	if errors.Is(err, pgx.ErrNoRows) {
		return job.Job{}, false, nil
	}
	if err != nil {
		return job.Job{}, false, fmt.Errorf("find job by idempotency key: %w", err)
	}
	return j, true, nil
}

// JobByID returns a job.
func (s JobStore) JobByID(ctx context.Context, id string) (job.Job, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, "SELECT "+jobColumns+" FROM jobs WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return job.Job{}, errNoJob
	}
	if err != nil {
		return job.Job{}, fmt.Errorf("find job %s: %w", id, err)
	}
	return j, nil
}

// ListJobs returns jobs newest first, after q.After.
func (s JobStore) ListJobs(ctx context.Context, q job.Query) ([]job.Job, error) {
	query := "SELECT " + jobColumns + ` FROM jobs WHERE ($2 = '' OR status = $2) AND ($3 = '' OR environment = $3)
		AND ($4 = '' OR runner_id = NULLIF($4, '')::uuid OR target_runner_id = NULLIF($4, '')::uuid)
		AND ($5 = '' OR package_name = $5)
		AND ($6::timestamptz IS NULL OR created_at >= $6) AND ($7::timestamptz IS NULL OR created_at <= $7)
		AND ($8 = '' OR schedule_id = NULLIF($8, '')::uuid)`
	args := []any{q.Limit, q.Status, q.Environment, q.RunnerID, q.Package, orNil(q.Since), orNil(q.Until), q.ScheduleID}
	if q.After != nil {
		query += " AND (created_at, id) < ($9, $10::uuid)"
		args = append(args, q.After.CreatedAt, q.After.ID)
	}
	js, err := collectJobs(s.pool.Query(ctx, query+" ORDER BY created_at DESC, id DESC LIMIT $1", args...))
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	return js, nil
}

// orNil is t, or NULL when t is zero.
func orNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// claimJobSQL is ClaimJob's statement (see there).
const claimJobSQL = `WITH claimed AS (
		UPDATE jobs SET status = CASE WHEN $10 THEN 'running' ELSE 'claimed' END, runner_id = $3, claimed_at = $4,
		lease_expires_at = $5, started_at = CASE WHEN $10 THEN $4::timestamptz END, claim_id = NULLIF($8, '')
		WHERE id = $1 AND status = $9 AND attempt = $2 AND environment = $6 AND labels <@ $7::text[]
		  AND (target_runner_id IS NULL OR target_runner_id = $3)
		  AND EXISTS (SELECT 1 FROM runners WHERE id = $3)
		RETURNING *), attempt AS (
		INSERT INTO job_attempts (job_id, number, runner_id, runner_name, started_at, running_at)
		SELECT c.id, c.attempt, c.runner_id, r.name, c.claimed_at, c.started_at FROM claimed c JOIN runners r ON r.id = c.runner_id
		ON CONFLICT (job_id, number) DO NOTHING)
		SELECT ` + jobFields + ", " + jobUnnamed + ", " + jobAssets + ` FROM claimed AS jobs`

// ClaimJob moves a pending job at c.Attempt to claimed by c.RunnerID (to
// running when c.Start), if the runner is of its environment, has its
// labels and is its target (if any), and records the attempt, in one
// statement.
//
// The job is found by its primary key. 'pending' is a parameter ($9), not
// a literal: with the literal, the generic plan PostgreSQL settles on for
// this prepared statement proved jobs_pending_idx usable and scanned every
// pending job of the environment for the id (0.75 ms a claim with 4,000
// jobs waiting, the most expensive statement of a job); a parameter cannot
// prove that index's predicate, so the plan reads one row by its key.
func (s JobStore) ClaimJob(ctx context.Context, c job.Claim) (job.Job, bool, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, claimJobSQL, c.JobID, c.Attempt, c.RunnerID, c.Now, c.LeaseUntil, c.Environment, c.RunnerLabels, c.ClaimID,
		job.StatusPending, c.Start))
	if errors.Is(err, pgx.ErrNoRows) {
		var exists bool
		if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM runners WHERE id = $1)", c.RunnerID).Scan(&exists); err != nil {
			return job.Job{}, false, err
		}
		if !exists { // deleted while it waited: the job is not for it
			return job.Job{}, false, errs.E(errs.InvalidCredentials, "this runner has been deleted")
		}
		return job.Job{}, false, nil
	}
	if err != nil {
		return job.Job{}, false, err
	}
	return j, true, nil
}

// claimedWithSQL is ClaimedWith's statement: a claimed job through
// jobs_claim_idx (its status a literal, as in that index's predicate, which
// the plan must prove to read it), a running one by its key.
const claimedWithSQL = `WITH renewed AS (
		UPDATE jobs SET lease_expires_at = GREATEST(CASE WHEN status = 'running' THEN $6::timestamptz ELSE $5::timestamptz END,
			lease_expires_at + interval '1 microsecond')
		WHERE runner_id = $1 AND claim_id = $2
		  AND (status = 'claimed' OR (id = NULLIF($3, '')::uuid AND status = 'running' AND $4))
		RETURNING *)
		SELECT ` + jobFields + ", " + jobUnnamed + ", " + jobAssets + ` FROM renewed AS jobs`

// ClaimedWith returns the job runnerID claimed under claimID and has not
// started yet; with started, also jobID if it runs since that claim took
// it up (the repeat of a claim that takes its job up). It renews the job's lease
// (r.Claimed or r.Running, by its status; later than it was in any case):
// the runner has now heard of the job, so a release of the claim's answer
// (job.Service.Release), which names the lease the claim set, no longer
// applies.
func (s JobStore) ClaimedWith(ctx context.Context, runnerID, claimID, jobID string, started bool, r job.Renewal) (job.Job, bool, error) {
	j, err := scanJob(s.pool.QueryRow(ctx, claimedWithSQL, runnerID, claimID, jobID, started, r.Claimed, r.Running))
	if errors.Is(err, pgx.ErrNoRows) {
		return job.Job{}, false, nil
	}
	if err != nil {
		return job.Job{}, false, fmt.Errorf("find the job of claim %q: %w", claimID, err)
	}
	return j, true, nil
}

// Logs returns up to limit lines of a job's log after seq.
func (s JobStore) Logs(ctx context.Context, id string, after int64, limit int) ([]job.LogLine, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, ts, stream, message FROM job_logs
		WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read logs of job %s: %w", id, err)
	}
	lines, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.LogLine, error) {
		var l job.LogLine
		err := r.Scan(&l.Seq, &l.TS, &l.Stream, &l.Message)
		l.TS = l.TS.UTC()
		return l, err
	})
	if err != nil {
		return nil, fmt.Errorf("read logs of job %s: %w", id, err)
	}
	return lines, nil
}
