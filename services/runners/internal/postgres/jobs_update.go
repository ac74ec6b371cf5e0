package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/jackc/pgx/v5"
)

// rollbackTimeout bounds the ROLLBACK sent after a failure, which runs even
// when the caller's context is cancelled.
const rollbackTimeout = 3 * time.Second

// UpdateJob locks the job, lets fn change it and writes it back with the
// log lines and the audit event fn asks for, in one transaction. It takes two
// round trips on one connection: BEGIN with the locking read, then the writes
// with COMMIT as the batch's last statement (pgx.BeginFunc spent one more on
// BEGIN and one more on COMMIT).
func (s JobStore) UpdateJob(ctx context.Context, id string, fn job.UpdateFunc) (job.Job, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return job.Job{}, fmt.Errorf("lock job %s: %w", id, err)
	}
	// pgxpool.Conn.Release (as of pgx v5.12.0) destroys a
	// connection that is closed, busy or whose TxStatus is not 'I' instead of
	// pooling it, so a failed ROLLBACK or a panic in fn never hands an open
	// transaction to the pool's next user: the server ends it with the
	// connection.
	defer conn.Release()
	c := conn.Conn()
	j, err := s.updateJob(ctx, c, id, fn)
	if err != nil {
		rollback(ctx, c)
	}
	return j, err
}

// updateJob is UpdateJob on c. On error the transaction may still be open:
// the caller rolls it back.
func (s JobStore) updateJob(ctx context.Context, c *pgx.Conn, id string, fn job.UpdateFunc) (job.Job, error) {
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	// Without names and assets (other tables' rows): no UpdateFunc reads
	// them, and the job UpdateJob returns is not shown as it is.
	b.Queue("SELECT "+jobFields+", "+jobUnnamed+", '{}'::text[] FROM jobs WHERE id = $1 FOR UPDATE", id)
	br := c.SendBatch(ctx, b)
	_, err := br.Exec()
	var j job.Job
	if err == nil {
		j, err = scanJob(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return j, errNoJob
	}
	if err != nil {
		return j, fmt.Errorf("lock job %s: %w", id, err)
	}
	before := j
	ch, err := fn(&j)
	if err != nil {
		return j, err
	}
	// The writes and COMMIT go in one round trip. A failing write makes the
	// server skip the rest of the batch, COMMIT included, so nothing of it
	// is committed.
	b = &pgx.Batch{}
	queueJob(b, j)
	queueLines(b, j.ID, ch.Lines)
	queueAttempt(b, before, j, ch.Ended)
	if ch.Event != nil {
		if _, err := s.events.Queue(ctx, b, *ch.Event); err != nil {
			return j, err
		}
	}
	b.Queue("COMMIT")
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return j, fmt.Errorf("write job %s: %w", j.ID, err)
	}
	return j, nil
}

// rollback ends c's transaction, if one is open, even when ctx is cancelled:
// the caller gave up, but the row lock must not outlive the update. Its
// failure is not reported: the connection is then not idle (or closed), and
// Release discards it, which ends the transaction on the server.
func rollback(ctx context.Context, c *pgx.Conn) {
	if c.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	_, _ = c.Exec(ctx, "ROLLBACK")
}

func queueJob(b *pgx.Batch, j job.Job) {
	b.Queue(`UPDATE jobs SET status = $2, attempt = $3, runner_id = NULLIF($4, '')::uuid,
		lease_expires_at = $5, cancel_requested = $6, claimed_at = $7, started_at = $8, finished_at = $9,
		exit_code = $10, error = NULLIF($11, ''), log_seq = $12, log_bytes = $13, log_truncated = $14,
		unstarted_claims = $15
		WHERE id = $1`, j.ID, j.Status, j.Attempt, j.RunnerID, j.LeaseExpiresAt, j.CancelRequested, j.ClaimedAt,
		j.StartedAt, j.FinishedAt, j.ExitCode, j.Error, j.LogSeq, j.LogBytes, j.LogTruncated, j.UnstartedClaims)
}

// queueAttempt notes in the attempt the job was at when it started running
// and, with end, how it ended. A job claimed before attempts were recorded
// has no row to note it in: nothing changes.
func queueAttempt(b *pgx.Batch, before, after job.Job, end *job.AttemptEnd) {
	if before.Status == job.StatusClaimed && after.Status == job.StatusRunning && after.StartedAt != nil {
		b.Queue(`UPDATE job_attempts SET running_at = $3 WHERE job_id = $1 AND number = $2 AND running_at IS NULL`,
			before.ID, before.Attempt, *after.StartedAt)
	}
	if end != nil {
		b.Queue(`UPDATE job_attempts SET ended_at = $3, outcome = $4, reason = $5
			WHERE job_id = $1 AND number = $2 AND ended_at IS NULL`, before.ID, before.Attempt, end.At, end.Outcome, end.Reason)
	}
}

func queueLines(b *pgx.Batch, id string, lines []job.LogLine) {
	if len(lines) == 0 {
		return
	}
	seqs, tss := make([]int64, len(lines)), make([]time.Time, len(lines))
	streams, msgs := make([]string, len(lines)), make([]string, len(lines))
	for i, l := range lines {
		seqs[i], tss[i], streams[i], msgs[i] = l.Seq, l.TS, l.Stream, l.Message
	}
	b.Queue(`INSERT INTO job_logs (job_id, seq, ts, stream, message)
		SELECT $1, * FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[])`, id, seqs, tss, streams, msgs)
}

// touchJobsSQL is TouchJobs' statement (see there).
const touchJobsSQL = `WITH old AS (
			SELECT id, status FROM jobs WHERE id = ANY($2::uuid[]) AND (runner_id = $1) IS TRUE
			  AND status = ANY($5::text[]) ORDER BY id FOR UPDATE),
		touched AS (
			UPDATE jobs j SET status = 'running', started_at = coalesce(j.started_at, $3), lease_expires_at = $4
			FROM old WHERE j.id = old.id
			RETURNING j.id, j.attempt, j.started_at, old.status = 'claimed' AS was_claimed, j.cancel_requested),
		running AS (
			UPDATE job_attempts a SET running_at = t.started_at FROM touched t
			WHERE t.was_claimed AND a.job_id = t.id AND a.number = t.attempt AND a.running_at IS NULL)
		SELECT id::text, was_claimed, cancel_requested FROM touched`

// TouchJobs renews the leases of the runner's claimed and running jobs
// among ids and makes the claimed ones running.
//
// The jobs are found by their keys. The generic plan PostgreSQL settles on
// for this prepared statement otherwise took a partial index whose
// predicate the query proves: jobs_runner_idx for "runner_id = $1" (every
// job the runner ever held: a heartbeat of a runner with a long history
// read all of it) or jobs_leased_idx for the literal statuses (every held
// job of the fleet). "(runner_id = $1) IS TRUE" and the statuses as a
// parameter ($5) prove neither predicate.
func (s JobStore) TouchJobs(ctx context.Context, runnerID string, ids []string, now, leaseUntil time.Time) ([]job.Touched, error) {
	rows, err := s.pool.Query(ctx, touchJobsSQL, runnerID, ids, now, leaseUntil, []string{job.StatusClaimed, job.StatusRunning})
	if err != nil {
		return nil, fmt.Errorf("touch jobs of runner %s: %w", runnerID, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Touched, error) {
		var t job.Touched
		return t, r.Scan(&t.ID, &t.WasClaimed, &t.CancelRequested)
	})
	if err != nil {
		return nil, fmt.Errorf("touch jobs of runner %s: %w", runnerID, err)
	}
	return out, nil
}

// ExpiredJobs lists claimed or running jobs whose lease ended before now or
// whose timeout since the claim, plus grace, passed.
func (s JobStore) ExpiredJobs(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id::text FROM jobs WHERE status IN ('claimed', 'running')
		AND (lease_expires_at < $1 OR claimed_at + make_interval(secs => timeout_seconds + $2::float8) < $1)
		ORDER BY lease_expires_at LIMIT $3`, now, grace.Seconds(), limit)
	if err != nil {
		return nil, fmt.Errorf("find expired jobs: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find expired jobs: %w", err)
	}
	return ids, nil
}

// PendingEntries lists pending jobs after the cursor, oldest first.
func (s JobStore) PendingEntries(ctx context.Context, after job.Cursor, limit int) ([]job.Entry, error) {
	if after.ID == "" {
		after.ID = "00000000-0000-0000-0000-000000000000"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+`
		FROM jobs WHERE status = 'pending' AND (created_at, id) > ($1, $2::uuid)
		ORDER BY created_at, id LIMIT $3`, after.CreatedAt, after.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("list pending jobs: %w", err)
	}
	es, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("list pending jobs: %w", err)
	}
	return es, nil
}

// entryColumns are a job's queue entry, as scanEntry reads it.
const entryColumns = `id::text, attempt, environment, coalesce(target_runner_id::text, ''), labels, created_at`

func scanEntry(r pgx.CollectableRow) (job.Entry, error) {
	var e job.Entry
	err := r.Scan(&e.JobID, &e.Attempt, &e.Environment, &e.TargetRunnerID, &e.Labels, &e.CreatedAt)
	return e, err
}

// PendingNow lists the jobs among ids that are pending now, as entries,
// oldest first (the order they are queued in). The status is a parameter:
// with the literal, a generic plan may prove jobs_pending_idx usable and
// read every pending job (see ClaimJob).
func (s JobStore) PendingNow(ctx context.Context, ids []string) ([]job.Entry, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+` FROM jobs WHERE id = ANY($1::uuid[]) AND status = $2
		ORDER BY created_at, id`, ids, job.StatusPending)
	if err != nil {
		return nil, fmt.Errorf("read %d jobs: %w", len(ids), err)
	}
	es, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("read %d jobs: %w", len(ids), err)
	}
	return es, nil
}

// takenUpSQL is TakenUp's statement.
const takenUpSQL = `SELECT runner_id::text, claim_id, id::text, attempt FROM jobs
		WHERE status = 'running' AND lease_expires_at >= $1 AND claim_id IS NOT NULL
		  AND started_at = claimed_at AND claimed_at >= $2`

// TakenUp lists the running jobs that a claim took up (Exekra-Claim-Start:
// started when claimed) since since, with live leases: what the queue's
// claim notes said before Redis lost them. It reads jobs_leased_idx.
func (s JobStore) TakenUp(ctx context.Context, now, since time.Time) ([]job.Noted, error) {
	rows, err := s.pool.Query(ctx, takenUpSQL, now, since)
	if err != nil {
		return nil, fmt.Errorf("list jobs claims took up: %w", err)
	}
	ns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (job.Noted, error) {
		var n job.Noted
		err := r.Scan(&n.RunnerID, &n.ClaimID, &n.Held.JobID, &n.Held.Attempt)
		return n, err
	})
	if err != nil {
		return nil, fmt.Errorf("list jobs claims took up: %w", err)
	}
	return ns, nil
}

// PendingCounts counts pending jobs by environment.
func (s JobStore) PendingCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, "SELECT environment, count(*)::int FROM jobs WHERE status = 'pending' GROUP BY environment")
	if err != nil {
		return nil, fmt.Errorf("count pending jobs: %w", err)
	}
	out := map[string]int{}
	var env string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&env, &n}, func() error { out[env] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("count pending jobs: %w", err)
	}
	return out, nil
}
