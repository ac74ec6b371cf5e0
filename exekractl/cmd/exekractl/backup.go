//go:build linux

package main

import (
	"context"
	"flag"
	"io"

	"github.com/exekra/hub/exekractl/internal/backup"
	"github.com/exekra/hub/libs/config"
)

const backupUsage = "usage: exekractl backup [--home DIR] [--out FILE] [--pg-bin DIR]"

// runBackup writes the disaster-recovery archive of the running Hub of --home.
func runBackup(ctx context.Context, args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekractl backup", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	home := fs.String("home", config.DefaultHome(), "install dir of the Hub to back up (it must be running)")
	out := fs.String("out", "", "archive to write (default: exekra-hub-backup-<UTC time>.tar.gz here); never overwritten")
	pgBin := fs.String("pg-bin", "", "directory holding pg_dump (default: beside the PostgreSQL server programs, else PATH)")
	if help, err := parseFlags(fs, args, backupUsage, stdout); help || err != nil {
		return err
	}
	_, err := backup.Backup(ctx, backup.Options{Home: *home, Out: *out, Environ: environ, PgBin: *pgBin, Stdout: stdout})
	return err
}
