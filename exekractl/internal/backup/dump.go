package backup

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/jackc/pgx/v5"
)

// dumper runs pg_dump for every service schema.
type dumper struct {
	pgDump  string
	environ []string
	stage   string // staging directory
}

// dumpAll dumps every target. Schemas that share a database are dumped from
// one exported snapshot, so together they are one consistent cut (a job and
// the audit events in the outbox beside it, the log and the outboxes).
// It also returns the package digests the runners schema names.
func (d *dumper) dumpAll(ctx context.Context, targets []dbTarget) ([]Schema, []string, []staged, error) {
	var order []string
	byURL := map[string][]dbTarget{}
	for _, t := range targets {
		if _, ok := byURL[t.url]; !ok {
			order = append(order, t.url)
		}
		byURL[t.url] = append(byURL[t.url], t)
	}
	var schemas []Schema
	var files []staged
	var pkgs []string
	for _, u := range order {
		ss, ps, fs, err := d.dumpDatabase(ctx, u, byURL[u])
		if err != nil {
			return nil, nil, nil, err
		}
		schemas, pkgs, files = append(schemas, ss...), append(pkgs, ps...), append(files, fs...)
	}
	return schemas, pkgs, files, nil
}

// dumpDatabase holds a repeatable-read transaction open on one database,
// exports its snapshot and runs pg_dump --snapshot for each schema in it.
func (d *dumper) dumpDatabase(ctx context.Context, dsn string, targets []dbTarget) ([]Schema, []string, []staged, error) {
	where := describe(dsn)
	conn, err := pgx.Connect(ctx, forPgx(dsn))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("database %s (of %s) is unreachable: %w; a backup needs the Hub and its database running",
			where, targets[0].service, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("database %s: %w", where, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var snapshot, serverVersion string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot(), current_setting('server_version')").Scan(&snapshot, &serverVersion); err != nil {
		return nil, nil, nil, fmt.Errorf("database %s: export a snapshot: %w", where, err)
	}
	var names []string
	for _, t := range targets {
		names = append(names, t.schema)
	}
	present, err := schemasPresent(ctx, tx, names)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("database %s: %w", where, err)
	}
	if len(present) != len(names) {
		return nil, nil, nil, fmt.Errorf("database %s holds schemas %v of %v: has every service of this Hub started once?", where, present, names)
	}
	var schemas []Schema
	var files []staged
	var pkgs []string
	for _, t := range targets {
		s := Schema{Service: t.service, Schema: t.schema, File: dirDatabase + t.schema + ".dump",
			Database: where, ServerVersion: serverVersion, Snapshot: snapshot}
		if s.Migrations, err = migrations(ctx, tx, t.schema); err != nil {
			return nil, nil, nil, err
		}
		if t.schema == "runners" {
			pkgs = packagesNamed(ctx, tx)
		}
		out := filepath.Join(d.stage, filepath.FromSlash(s.File))
		conn, env := forLibpq(dsn)
		args := []string{"--format=custom", "--schema=" + t.schema, "--strict-names", "--snapshot=" + snapshot,
			"--file=" + out, "--dbname=" + conn}
		if _, err := runTool(ctx, d.pgDump, args, toolEnv(d.environ, env)); err != nil {
			return nil, nil, nil, fmt.Errorf("dump schema %s of %s: %w", t.schema, where, err)
		}
		schemas = append(schemas, s)
		files = append(files, staged{name: s.File, file: out, mode: 0o600})
	}
	return schemas, pkgs, files, tx.Commit(ctx)
}

// packagesNamed lists the package digests of runners.packages. It is only a
// cross-check of the object store export, so a failure is not fatal (nil);
// it runs in a savepoint so that a failure leaves the snapshot usable.
func packagesNamed(ctx context.Context, tx pgx.Tx) []string {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil
	}
	defer sp.Rollback(context.WithoutCancel(ctx))
	rows, err := sp.Query(ctx, "SELECT DISTINCT sha256 FROM runners.packages")
	if err != nil {
		return nil
	}
	shas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil
	}
	return shas
}
