// Package postgres holds the runners service's PostgreSQL store and its migrations.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's migrations in order.
func Migrations() ([]migrate.File, error) { return migrate.Load(migrationFiles, "migrations") }

// Store reads and writes the runners schema.
type Store struct {
	pool   *pgxpool.Pool
	events outbox.Events
}

var _ runner.Store = (*Store)(nil)

// NewStore wraps a pool whose search_path is the runners schema; events are
// written to the schema's audit outbox.
func NewStore(pool *pgxpool.Pool, events outbox.Events) *Store {
	return &Store{pool: pool, events: events}
}

// inTx runs fn in a transaction and wraps its error with what.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	if err := pgx.BeginFunc(ctx, s.pool, fn); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// appendEvent writes ev to the outbox within tx.
func (s *Store) appendEvent(ctx context.Context, tx pgx.Tx, ev audit.Event) error {
	_, err := s.events.Append(ctx, tx, ev) // its error names the action
	return err
}

// RecordEvent writes an event that goes with no change.
func (s *Store) RecordEvent(ctx context.Context, ev audit.Event) error {
	return s.events.Record(ctx, s.pool, ev)
}

// uniqueViolation is PostgreSQL's code for a duplicate key.
const uniqueViolation = "23505"

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

var (
	errNotFound  = errs.E(errs.NotFound, "no runner has this id")
	errNameTaken = errs.E(errs.Conflict, "a runner with this name already exists")
)
