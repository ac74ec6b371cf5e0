package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/jackc/pgx/v5"
)

// nextVersion is a credential's next version: the microseconds of
// PostgreSQL's clock, and always more than the version before. A clock-based
// version stays ahead of cache entries written before the database was
// restored from a backup, so a change after a restore still wins in Redis.
const nextVersion = "GREATEST(credential_version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)"

const (
	runnerColumns = "id::text, name, environment, labels, created_at, last_seen_at, connected_from, version, os, hostname, " +
		"cpu_percent, memory_percent, disk_free_bytes, agent_commit"
	credentialColumns = runnerColumns + ", secret_sha256, credential_version"
)

// scanRunner reads runnerColumns (then extra destinations); times come back in UTC.
func scanRunner(row pgx.Row, extra ...any) (runner.Runner, error) {
	var r runner.Runner
	var at *time.Time
	var from, version, commit, os, host *string
	var cpu, mem *float64
	var disk *int64
	dest := append([]any{&r.ID, &r.Name, &r.Environment, &r.Labels, &r.CreatedAt,
		&at, &from, &version, &os, &host, &cpu, &mem, &disk, &commit}, extra...)
	if err := row.Scan(dest...); err != nil {
		return runner.Runner{}, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	if r.Labels == nil {
		r.Labels = []string{}
	}
	if at != nil {
		r.Seen = &runner.Presence{LastSeen: at.UTC(), Address: deref(from), Version: deref(version), Commit: deref(commit), OS: deref(os),
			Hostname: deref(host), Metrics: runner.Metrics{CPUPercent: deref(cpu), MemoryPercent: deref(mem), DiskFreeBytes: deref(disk)}}
	}
	return r, nil
}

func scanCredential(row pgx.Row) (runner.Credential, error) {
	var c runner.Credential
	r, err := scanRunner(row, &c.SecretSHA256, &c.Version)
	c.Runner = r
	return c, err
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// RegisterRunner inserts c under a lock every registration takes, so the
// count allow is asked with stays true until the insert commits. It returns
// c with its first credential version.
func (s *Store) RegisterRunner(ctx context.Context, c runner.Credential, allow func(count int) error, ev audit.Event) (runner.Credential, error) {
	err := s.inTx(ctx, "register runner", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('exekra.runners.register'))"); err != nil {
			return fmt.Errorf("lock registrations: %w", err)
		}
		var count int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM runners").Scan(&count); err != nil {
			return fmt.Errorf("count runners: %w", err)
		}
		if err := allow(count); err != nil {
			return err
		}
		r := c.Runner
		err := tx.QueryRow(ctx, `INSERT INTO runners (id, name, environment, labels, secret_sha256, created_at, credential_version)
			VALUES ($1, $2, $3, $4, $5, $6, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint)
			RETURNING credential_version`, r.ID, r.Name, r.Environment, r.Labels, c.SecretSHA256, r.CreatedAt).Scan(&c.Version)
		if pgCode(err) == uniqueViolation {
			return errNameTaken
		}
		if err != nil {
			return fmt.Errorf("insert runner: %w", err)
		}
		return s.appendEvent(ctx, tx, ev)
	})
	return c, err
}

// Credential returns the runner with id and its credential.
func (s *Store) Credential(ctx context.Context, id string) (runner.Credential, error) {
	c, err := scanCredential(s.pool.QueryRow(ctx, "SELECT "+credentialColumns+" FROM runners WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return runner.Credential{}, errNotFound
	}
	if err != nil {
		return runner.Credential{}, fmt.Errorf("read credential of runner %s: %w", id, err)
	}
	return c, nil
}

// RunnerByID returns the runner with id.
func (s *Store) RunnerByID(ctx context.Context, id string) (runner.Runner, error) {
	r, err := scanRunner(s.pool.QueryRow(ctx, "SELECT "+runnerColumns+" FROM runners WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return runner.Runner{}, errNotFound
	}
	if err != nil {
		return runner.Runner{}, fmt.Errorf("find runner %s: %w", id, err)
	}
	return r, nil
}

// ListRunners returns up to limit runners after the cursor, by name then id.
func (s *Store) ListRunners(ctx context.Context, environment string, after *runner.Cursor, limit int) ([]runner.Runner, error) {
	query := "SELECT " + runnerColumns + " FROM runners WHERE ($2 = '' OR environment = $2)"
	args := []any{limit, environment}
	if after != nil {
		query += " AND (name, id) > ($3, $4::uuid)"
		args = append(args, after.Name, after.ID)
	}
	rows, err := s.pool.Query(ctx, query+" ORDER BY name, id LIMIT $1", args...)
	if err != nil {
		return nil, fmt.Errorf("list runners: %w", err)
	}
	rs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (runner.Runner, error) { return scanRunner(r) })
	if err != nil {
		return nil, fmt.Errorf("list runners: %w", err)
	}
	return rs, nil
}

// CountRunners counts registered runners.
func (s *Store) CountRunners(ctx context.Context) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM runners").Scan(&n); err != nil {
		return 0, fmt.Errorf("count runners: %w", err)
	}
	return n, nil
}

// RotateSecret stores hash at the next credential version, lets fn act before
// the commit and records its event.
func (s *Store) RotateSecret(ctx context.Context, id string, hash []byte, fn runner.CredentialFunc) (runner.Credential, error) {
	var c runner.Credential
	err := s.inTx(ctx, "rotate secret", func(tx pgx.Tx) error {
		var err error
		c, err = scanCredential(tx.QueryRow(ctx, `UPDATE runners SET secret_sha256 = $2, credential_version = `+nextVersion+`
			WHERE id = $1 RETURNING `+credentialColumns, id, hash))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("write secret: %w", err)
		}
		return s.finish(ctx, tx, c, fn)
	})
	return c, err
}

// DeleteRunner deletes the runner with id; fn gets its credential at the
// next version (the version of its deletion).
func (s *Store) DeleteRunner(ctx context.Context, id string, fn runner.CredentialFunc) error {
	return s.inTx(ctx, "delete runner", func(tx pgx.Tx) error {
		c, err := scanCredential(tx.QueryRow(ctx, "DELETE FROM runners WHERE id = $1 RETURNING "+
			runnerColumns+", secret_sha256, "+nextVersion, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("delete runner: %w", err)
		}
		return s.finish(ctx, tx, c, fn)
	})
}

func (s *Store) finish(ctx context.Context, tx pgx.Tx, c runner.Credential, fn runner.CredentialFunc) error {
	ev, err := fn(c)
	if err != nil {
		return err
	}
	return s.appendEvent(ctx, tx, ev)
}
