package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/programs"
)

// Options are what exekractl backup hands Backup.
type Options struct {
	Home    string
	Out     string   // archive file; "" is DefaultName in the current directory
	Environ []string // os.Environ form: EXEKRA_* overrides as the Hub gets them, PATH
	PgBin   string   // directory of pg_dump; "" finds it
	Stdout  io.Writer
	Now     func() time.Time
}

// Result is what a backup wrote.
type Result struct {
	File     string
	Size     int64
	Took     time.Duration
	Manifest *Manifest
}

// Backup writes the archive of the running Hub installed in o.Home: the
// schemas first (one snapshot per database), then the package store (bytes
// are stored before their package row commits and never deleted, so every
// package the dumps name is there), then the settings.
func Backup(ctx context.Context, o Options) (*Result, error) {
	started := time.Now()
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(home, o.Environ)
	if err != nil {
		return nil, err
	}
	now := o.Now().UTC()
	out := o.Out
	if out == "" {
		out = DefaultName(now)
	}
	if out, err = filepath.Abs(out); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("%s exists: choose another --out", out)
	}
	stage, err := os.MkdirTemp(filepath.Dir(out), ".exekra-backup-stage-")
	if err != nil {
		return nil, fmt.Errorf("staging directory beside the archive: %w", err)
	}
	defer os.RemoveAll(stage)

	m, members, err := collect(ctx, cfg, o, stage)
	if err != nil {
		return nil, err
	}
	m.CreatedAt, m.Home = now, home
	size, err := writeArchive(out, m, members)
	if err != nil {
		return nil, err
	}
	res := &Result{File: out, Size: size, Took: time.Since(started), Manifest: m}
	report(o.Stdout, res)
	return res, nil
}

// collect stages every member and fills the manifest but for its members.
func collect(ctx context.Context, cfg *config.Config, o Options, stage string) (*Manifest, []staged, error) {
	hostname, _ := os.Hostname()
	m := &Manifest{Format: Format, Version: buildinfo.Version, Hostname: hostname}
	pgDump, err := pgTool("pg_dump", o.PgBin, programs.PathList(o.Environ))
	if err != nil {
		return nil, nil, err
	}
	if m.PgDump, err = toolVersion(ctx, pgDump, o.Environ); err != nil {
		return nil, nil, err
	}
	targets, err := databaseTargets(cfg, storedPrivateURL(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("%w; a backup needs the Hub running", err)
	}
	if err := os.MkdirAll(filepath.Join(stage, "database"), 0o700); err != nil {
		return nil, nil, err
	}
	keysBefore, err := assetKeyUses(ctx, targets)
	if err != nil {
		return nil, nil, err
	}
	d := &dumper{pgDump: pgDump, environ: o.Environ, stage: stage}
	schemas, named, members, err := d.dumpAll(ctx, targets)
	if err != nil {
		return nil, nil, err
	}
	keysAfter, err := assetKeyUses(ctx, targets)
	if err != nil {
		return nil, nil, err
	}
	m.AssetKeys = mergeKeyUses(keysBefore, keysAfter)
	m.AssetKeyFile = cfg.Runners.AssetKeyFile
	m.Schemas = schemas
	url, err := natsURL(cfg)
	if err != nil {
		return nil, nil, err
	}
	pkgs, pkgFiles, natsVersion, err := exportPackages(ctx, url, cfg.Path(cfg.Hub.CredentialsDir), cfg.Path(cfg.NATS.CAFile), filepath.Join(stage, "packages"))
	if err != nil {
		return nil, nil, err
	}
	m.Packages, m.NATSServer = pkgs, natsVersion
	members = append(members, pkgFiles...)
	if missing := missingPackages(named, pkgs); len(missing) > 0 {
		m.Warnings = append(m.Warnings, fmt.Sprintf("the package store lacks the bytes of %d published package(s): %s",
			len(missing), strings.Join(missing, ", ")))
	}
	homeFiles, warnings, err := homeMembers(cfg)
	if err != nil {
		return nil, nil, err
	}
	m.Warnings = append(m.Warnings, warnings...)
	for _, f := range homeFiles {
		m.Files = append(m.Files, strings.TrimPrefix(f.name, dirHome))
	}
	return m, append(members, homeFiles...), nil
}

// homeMembers are the install dir's settings and secrets: every regular
// file under config/ (hub-config.json, certs/hub.crt and hub.key, the
// audit signing key) and .env. Files the settings name outside config/
// are not taken: the warnings say so.
func homeMembers(cfg *config.Config) ([]staged, []string, error) {
	var out []staged
	keyFile := assetKeyFile(cfg)
	confDir := filepath.Join(cfg.Home, "config")
	err := filepath.WalkDir(confDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || filepath.Clean(path) == keyFile {
			return nil // the asset key file never goes in an archive
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(cfg.Home, path)
		if err != nil {
			return err
		}
		out = append(out, staged{name: dirHome + filepath.ToSlash(rel), file: path, mode: info.Mode().Perm()})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the settings directory: %w", err)
	}
	env := filepath.Join(cfg.Home, ".env")
	if info, err := os.Stat(env); err == nil {
		out = append(out, staged{name: dirHome + ".env", file: env, mode: info.Mode().Perm()})
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	var warnings []string
	named := map[string]string{"tls.cert_file": cfg.TLS.CertFile, "tls.key_file": cfg.TLS.KeyFile,
		"audit.signing_key_file": cfg.Audit.SigningKeyFile}
	for _, key := range []string{"tls.cert_file", "tls.key_file", "audit.signing_key_file"} {
		p := cfg.Path(named[key])
		if rel, err := filepath.Rel(confDir, p); err != nil || strings.HasPrefix(rel, "..") {
			warnings = append(warnings, fmt.Sprintf("%s %s lies outside %s and is not in the archive: back it up yourself", key, p, confDir))
		}
	}
	return out, warnings, nil
}

func report(w io.Writer, r *Result) {
	m := r.Manifest
	fmt.Fprintf(w, "backup written: %s\n", r.File)
	fmt.Fprintf(w, "  %d bytes in %.1fs; mode 0600\n", r.Size, r.Took.Seconds())
	for _, s := range m.Schemas {
		fmt.Fprintf(w, "  schema %-9s from %s (migrations %v)\n", s.Schema, s.Database, versionsOf(s.Migrations))
	}
	var bytes int64
	for _, p := range m.Packages {
		bytes += p.Size
	}
	fmt.Fprintf(w, "  %d package object(s), %d bytes\n", len(m.Packages), bytes)
	fmt.Fprintf(w, "  settings: %s\n", strings.Join(m.Files, ", "))
	for _, warn := range m.Warnings {
		fmt.Fprintf(w, "  WARNING: %s\n", warn)
	}
	fmt.Fprintln(w, "The archive holds secrets (.env, the TLS private key, the audit signing key, password hashes):")
	fmt.Fprintln(w, "keep it as you keep those — encrypted, off this machine, readable by its operators only.")
}
