package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// The statements run for every job find it by its primary key even in the
// generic plan PostgreSQL settles on for a prepared statement after a few
// runs: a plan through a partial index whose predicate the query proves
// read every pending job of the environment (a claim), or every job the
// runner ever held (a heartbeat), for one row.
func TestJobStatementsReadByKey(t *testing.T) {
	f := newUpdateFixture(t)
	ctx := context.Background()
	runnerID := uuid.NewString()
	if _, err := f.pool.Exec(ctx, `INSERT INTO runners (id, name, environment, labels, secret_sha256, created_at, credential_version)
		VALUES ($1, 'r', 'Development', '{}', $2, now(), 1)`, runnerID, make([]byte, 32)); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 300 {
		ids = append(ids, uuid.NewString())
		f.createJob(t, ids[len(ids)-1])
	}
	// A claim meets a queue of pending jobs, before statistics were taken.
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	c := conn.Conn()
	plan := func(name, sql, types, args string) string {
		t.Helper()
		if _, err := c.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
			t.Fatal(err)
		}
		defer c.Exec(ctx, "RESET plan_cache_mode")
		if _, err := c.Exec(ctx, fmt.Sprintf("PREPARE %s(%s) AS %s", name, types, sql)); err != nil {
			t.Fatalf("prepare %s: %v", name, err)
		}
		rows, err := c.Query(ctx, fmt.Sprintf("EXPLAIN EXECUTE %s(%s)", name, args), pgx.QueryExecModeSimpleProtocol)
		if err != nil {
			t.Fatalf("explain %s: %v", name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(lines, "\n")
	}
	ts := "'2026-06-01 09:00:00+00'"
	t.Run("a claim", func(t *testing.T) {
		p := plan("claim", claimJobSQL, "uuid, int, uuid, timestamptz, timestamptz, text, text[], text, text, boolean",
			fmt.Sprintf("'%s', 1, '%s', %s, %s, 'Development', '{}', 'c', 'pending', true", ids[250], runnerID, ts, ts))
		if !strings.Contains(p, "jobs_pkey") || strings.Contains(p, "jobs_pending_idx") {
			t.Fatalf("the claim does not read the job by its key:\n%s", p)
		}
	})
	// The runner holds some jobs and held many: its history is what a
	// plan through jobs_runner_idx would read.
	if _, err := c.Exec(ctx, `UPDATE jobs SET status = 'succeeded', runner_id = $1 WHERE id = ANY($2::uuid[])`,
		runnerID, ids[:200]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, `UPDATE jobs SET status = 'running', runner_id = $1 WHERE id = ANY($2::uuid[])`,
		runnerID, ids[200:210]); err != nil {
		t.Fatal(err)
	}
	// A long history (2,000 finished jobs), so that reading the table
	// whole is no cheaper than reading a row by its key.
	if _, err := c.Exec(ctx, `INSERT INTO jobs
		SELECT (jsonb_populate_record(NULL::jobs, to_jsonb(j) || jsonb_build_object('id', gen_random_uuid()))).*
		FROM jobs j, generate_series(1, 10) WHERE j.status = 'succeeded'`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "ANALYZE jobs"); err != nil {
		t.Fatal(err)
	}
	t.Run("a heartbeat naming running jobs", func(t *testing.T) {
		p := plan("touch", touchJobsSQL, "uuid, uuid[], timestamptz, timestamptz, text[]",
			fmt.Sprintf("'%s', '{%s}', %s, %s, '{claimed,running}'", runnerID, ids[205], ts, ts))
		if !strings.Contains(p, "jobs_pkey") || strings.Contains(p, "jobs_runner_idx") || strings.Contains(p, "jobs_leased_idx") {
			t.Fatalf("the touch does not read the jobs by their keys:\n%s", p)
		}
	})
	t.Run("a repeated claim", func(t *testing.T) {
		p := plan("claimed_with", claimedWithSQL, "uuid, text, text, boolean, timestamptz, timestamptz",
			fmt.Sprintf("'%s', 'c', '%s', true, %s, %s", runnerID, ids[205], ts, ts))
		if !strings.Contains(p, "jobs_claim_idx") || !strings.Contains(p, "jobs_pkey") || strings.Contains(p, "jobs_runner_idx") {
			t.Fatalf("a repeated claim does not find its job through jobs_claim_idx and its key:\n%s", p)
		}
	})
	t.Run("noting claims again after Redis lost them", func(t *testing.T) {
		p := plan("taken_up", takenUpSQL, "timestamptz, timestamptz", ts+", "+ts)
		if !strings.Contains(p, "jobs_leased_idx") {
			t.Fatalf("listing the jobs claims took up does not read jobs_leased_idx (the live jobs only):\n%s", p)
		}
	})
}
