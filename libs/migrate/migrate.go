// Package migrate applies a service's embedded, numbered SQL migrations to its
// schema at start-up, under an advisory lock so that instances starting at the
// same time apply each file exactly once.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// File is one migration: NNNN_name.sql.
type File struct {
	Version int
	Name    string
	SQL     string
}

// Load reads *.sql files of dir in fsys, ordered by their number prefix.
func Load(fsys fs.FS, dir string) ([]File, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var files []File
	seen := map[int]string{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 || strings.Trim(num, "0123456789") != "" {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", e.Name())
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share number %d", prev, e.Name(), v)
		}
		seen[v] = e.Name()
		body, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		files = append(files, File{Version: v, Name: e.Name(), SQL: string(body)})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Version < files[j].Version })
	return files, nil
}

// NewerSchemaError is a schema holding a migration this program does not
// know: a newer version of it migrated the database. Nothing is applied.
type NewerSchemaError struct {
	Schema  string
	Version int
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("schema %s has migration %d, which this program does not know: the database was upgraded by a newer version of the Hub; run that version (or restore the backup taken before the upgrade)",
		e.Schema, e.Version)
}

// Apply creates schema if needed and applies the files not yet applied, each in
// its own transaction. It returns how many it applied. A schema holding a
// migration that files lack is refused (*NewerSchemaError) before anything
// is applied: a program never runs on, or half-migrates, a newer database.
func Apply(ctx context.Context, pool *pgxpool.Pool, schema string, files []File) (int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate %s: %w", schema, err)
	}
	defer conn.Release()
	lockKey := "exekra.migrate." + schema
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", lockKey); err != nil {
		return 0, fmt.Errorf("migrate %s: lock: %w", schema, err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", lockKey)

	ident := pgx.Identifier{schema}.Sanitize()
	setup := fmt.Sprintf(`CREATE SCHEMA IF NOT EXISTS %[1]s;
		CREATE TABLE IF NOT EXISTS %[1]s.schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`, ident)
	if _, err := conn.Exec(ctx, setup); err != nil {
		return 0, fmt.Errorf("migrate %s: create schema: %w", schema, err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT version FROM %s.schema_migrations", ident))
	if err != nil {
		return 0, fmt.Errorf("migrate %s: list applied: %w", schema, err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, fmt.Errorf("migrate %s: list applied: %w", schema, err)
	}
	known := map[int]bool{}
	for _, f := range files {
		known[f.Version] = true
	}
	for _, v := range versions {
		applied[v] = true
		if !known[v] {
			return 0, &NewerSchemaError{Schema: schema, Version: v}
		}
	}
	n := 0
	for _, f := range files {
		if applied[f.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+ident); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, f.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name) VALUES ($1, $2)", ident), f.Version, f.Name)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("migrate %s: %s: %w", schema, f.Name, err)
		}
		n++
	}
	return n, nil
}
