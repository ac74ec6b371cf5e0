// Package migrate applies a service's embedded, numbered SQL migrations to its
// schema at start-up, under an advisory lock so that instances starting at the
// same time apply each file exactly once.
//
// A migration whose first line is ExpandMark only adds (tables, nullable or
// defaulted columns, indexes, functions): the previous version of the Hub
// keeps working on a schema holding it, so instances of both versions can
// serve side by side during a rolling upgrade. Removing or changing what an
// older version uses (contract) is left to a later release, in a migration
// without the mark, which older programs refuse to start on.
package migrate

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"regexp"
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
	// Expand is a migration that only adds (its first line is ExpandMark).
	Expand bool
}

// ExpandMark is the first line of a migration that only adds:
// the previous version keeps working with it applied.
const ExpandMark = "-- migrate: expand"

// contracting finds statements that remove or change what an older version
// may use; a file marked expand holding one is refused.
var contracting = regexp.MustCompile(`(?i)\b(DROP|RENAME|TRUNCATE)\b|\bALTER\s+COLUMN\s+\S+\s+(TYPE|SET\s+NOT\s+NULL)\b|\bSET\s+DATA\s+TYPE\b`)

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
		first, _, _ := strings.Cut(string(body), "\n")
		expand := strings.TrimSpace(first) == ExpandMark
		if expand {
			if m := contracting.FindString(string(body)); m != "" {
				return nil, fmt.Errorf("migration %s is marked expand but holds %q, which an older version may depend on: leave the mark out (a contract migration) or do it in a later release", e.Name(), m)
			}
		}
		files = append(files, File{Version: v, Name: e.Name(), SQL: string(body), Expand: expand})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Version < files[j].Version })
	return files, nil
}

// NewerSchemaError is a schema holding a migration this program does not
// know and that is not marked expand: a newer version of it migrated the
// database in a way this one cannot run on. Nothing is applied.
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
// is applied, unless that migration was marked expand: a program never runs
// on, or half-migrates, a database a newer version changed under it.
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
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
		ALTER TABLE %[1]s.schema_migrations ADD COLUMN IF NOT EXISTS expand boolean NOT NULL DEFAULT false`, ident)
	if _, err := conn.Exec(ctx, setup); err != nil {
		return 0, fmt.Errorf("migrate %s: create schema: %w", schema, err)
	}
	type row struct {
		Version int
		Expand  bool
	}
	rows, err := conn.Query(ctx, fmt.Sprintf("SELECT version, expand FROM %s.schema_migrations ORDER BY version", ident))
	if err != nil {
		return 0, fmt.Errorf("migrate %s: list applied: %w", schema, err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	if err != nil {
		return 0, fmt.Errorf("migrate %s: list applied: %w", schema, err)
	}
	known := map[int]bool{}
	for _, f := range files {
		known[f.Version] = true
	}
	applied := map[int]bool{}
	for _, r := range done {
		applied[r.Version] = true
		if !known[r.Version] && !r.Expand {
			return 0, &NewerSchemaError{Schema: schema, Version: r.Version}
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
			_, err := tx.Exec(ctx, fmt.Sprintf("INSERT INTO %s.schema_migrations (version, name, expand) VALUES ($1, $2, $3)", ident), f.Version, f.Name, f.Expand)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("migrate %s: %s: %w", schema, f.Name, err)
		}
		n++
	}
	return n, nil
}
