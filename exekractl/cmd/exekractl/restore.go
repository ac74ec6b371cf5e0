//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/exekra/hub/exekractl/internal/backup"
	"github.com/exekra/hub/libs/config"
)

const restoreUsage = "usage: exekractl restore --from FILE [--home DIR] [--packages-only] [--pg-bin DIR] [--asset-key-file FILE]"

// runRestore puts an archive back into a stopped, fresh install.
func runRestore(ctx context.Context, args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekractl restore", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	home := fs.String("home", config.DefaultHome(), "install dir to restore into (the Hub stopped; its databases without Hub schemas)")
	from := fs.String("from", "", "archive written by exekractl backup")
	assetKeyFile := fs.String("asset-key-file", "", "key file of the original install, installed at runners.asset_key_file (needed when the backup holds asset values: backups do not carry it)")
	packagesOnly := fs.Bool("packages-only", false, "only put the packages back (after a restore whose package step failed)")
	pgBin := fs.String("pg-bin", "", "directory holding pg_restore (default: beside the PostgreSQL server programs, else PATH)")
	if help, err := parseFlags(fs, args, restoreUsage, stdout); help || err != nil {
		return err
	}
	if *from == "" {
		return errors.New("--from FILE is required (" + restoreUsage + ")")
	}
	_, err := backup.Restore(ctx, backup.RestoreOptions{Home: *home, From: *from, Environ: environ, PgBin: *pgBin,
		PackagesOnly: *packagesOnly, AssetKeyFile: *assetKeyFile, Stdout: stdout})
	return err
}
