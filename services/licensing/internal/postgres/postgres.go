// Package postgres holds the licensing service's PostgreSQL store and its migrations.
package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's migrations in order.
func Migrations() ([]migrate.File, error) { return migrate.Load(migrationFiles, "migrations") }

// Store reads and writes the licensing schema; audit events go to the
// schema's outbox in the same transaction as the change they describe.
type Store struct {
	pool   *pgxpool.Pool
	outbox outbox.Writer
}

var _ license.Store = (*Store)(nil)

// NewStore wraps a pool whose search_path is the licensing schema.
func NewStore(pool *pgxpool.Pool, w outbox.Writer) *Store { return &Store{pool: pool, outbox: w} }

// Licensed reports whether a license is active.
func (s *Store) Licensed(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM licenses WHERE active)").Scan(&exists); err != nil {
		return false, fmt.Errorf("check licensed: %w", err)
	}
	return exists, nil
}

// Audit writes one event in its own transaction.
func (s *Store) Audit(ctx context.Context, ev audit.Event) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		_, err := s.outbox.Append(ctx, tx, ev)
		return err
	})
}

// append writes ev in tx when there is one.
func (s *Store) append(ctx context.Context, tx pgx.Tx, ev *audit.Event) error {
	if ev == nil {
		return nil
	}
	_, err := s.outbox.Append(ctx, tx, *ev)
	return err
}
