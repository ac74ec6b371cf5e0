// Package postgres holds the audit service's PostgreSQL store and its migrations.
package postgres

import (
	"embed"

	"github.com/exekra/hub/libs/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the schema's migrations in order.
func Migrations() ([]migrate.File, error) { return migrate.Load(migrationFiles, "migrations") }
