// Package postgres holds the licensing service's PostgreSQL store and its migrations.
package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/exekra/hub/libs/migrate"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's migrations in order.
func Migrations() ([]migrate.File, error) { return migrate.Load(migrationFiles, "migrations") }

// Store reads and writes the licensing schema.
type Store struct{ pool *pgxpool.Pool }

// NewStore wraps a pool whose search_path is the licensing schema.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Licensed reports whether a license is active.
func (s *Store) Licensed(ctx context.Context) (bool, error) {
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM licenses WHERE active)").Scan(&exists); err != nil {
		return false, fmt.Errorf("check licensed: %w", err)
	}
	return exists, nil
}
