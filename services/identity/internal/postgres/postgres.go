// Package postgres holds the identity service's PostgreSQL store and its migrations.
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
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's migrations in order.
func Migrations() ([]migrate.File, error) { return migrate.Load(migrationFiles, "migrations") }

// Store reads and writes the identity schema.
type Store struct {
	pool   *pgxpool.Pool
	events outbox.Events
}

var _ user.Store = (*Store)(nil)

// NewStore wraps a pool whose search_path is the identity schema; events are
// written to the schema's audit outbox.
func NewStore(pool *pgxpool.Pool, events outbox.Events) *Store {
	return &Store{pool: pool, events: events}
}

// Bootstrapped reports whether any user exists.
func (s *Store) Bootstrapped(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists); err != nil {
		return false, fmt.Errorf("check bootstrapped: %w", err)
	}
	return exists, nil
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

// lockUsers serializes the transactions that add users or could take away an
// active administrator, across every instance of the service, until commit.
func lockUsers(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('exekra.identity.users'))"); err != nil {
		return fmt.Errorf("lock users: %w", err)
	}
	return nil
}

// Error codes of PostgreSQL the store translates.
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

var (
	errNotFound    = errs.E(errs.NotFound, "no user has this id")
	errEmailTaken  = errs.E(errs.Conflict, "a user with this email already exists")
	errSessionGone = errs.E(errs.NotFound, "no such session")
	errUserChanged = errs.E(errs.InvalidCredentials, "invalid email or password")
)
