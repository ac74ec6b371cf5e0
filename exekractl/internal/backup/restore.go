package backup

import (
	"context"
	"fmt"
	"github.com/exekra/hub/libs/envelope"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/listenaddr"
	"github.com/exekra/hub/pilot/programs"
	"github.com/jackc/pgx/v5"
)

// RestoreOptions are what exekractl restore hands Restore.
type RestoreOptions struct {
	Home    string // the new install dir
	From    string // the archive
	Environ []string
	PgBin   string // directory of pg_restore; "" finds it
	// PackagesOnly puts the packages back and nothing else: the second try
	// after a restore whose package step failed.
	PackagesOnly bool
	// AssetKeyFile is the key file of the original install; needed when the
	// archive holds asset values, unless the target's key file holds their keys.
	AssetKeyFile string
	Stdout       io.Writer
}

// RestoreResult is what a restore did.
type RestoreResult struct {
	Manifest *Manifest
	Took     time.Duration
	Settings []string // files written, relative to the install dir
	Moved    []string // files that were there before, renamed *.before-restore
	Kept     []string // site keys kept from the install's own settings
	Schemas  []string // "schema → host:port/db"
}

// Restore puts an archive back into a stopped install (see the package
// doc): settings, then schemas, then packages. It refuses, before changing
// anything, a running Hub and databases that already hold a Hub schema.
func Restore(ctx context.Context, o RestoreOptions) (*RestoreResult, error) {
	started := time.Now()
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(o.From); err != nil {
		return nil, fmt.Errorf("--from: %w", err)
	}
	if err := prepareDirs(home); err != nil {
		return nil, err
	}
	work, err := os.MkdirTemp(filepath.Join(home, "var"), ".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	extracted := filepath.Join(work, "archive")
	m, err := readArchive(o.From, extracted)
	if err != nil {
		return nil, err
	}
	res := &RestoreResult{Manifest: m}
	fmt.Fprintf(o.Stdout, "archive %s: backup of %s:%s made %s by exekractl %s (this one is %s); members verified\n",
		o.From, m.Hostname, m.Home, m.CreatedAt.Format(time.RFC3339), m.Version, buildinfo.Version)
	var cfg *config.Config
	staged := filepath.Join(work, "home")
	if o.PackagesOnly {
		cfg, err = config.Load(home, o.Environ)
	} else {
		if res.Kept, err = stageSettings(extracted, home, staged); err != nil {
			return nil, err
		}
		cfg, err = config.Load(staged, o.Environ)
	}
	if err != nil {
		return nil, err
	}
	cfg.Home = home
	var keys *envelope.Keyring
	if !o.PackagesOnly {
		if keys, err = checkAssetKeys(m, o.AssetKeyFile, assetKeyFile(cfg)); err != nil {
			return nil, err
		}
	}
	if err := checkStopped(cfg); err != nil {
		return nil, err
	}
	if !o.PackagesOnly {
		install := func() (err error) {
			res.Settings, res.Moved, err = installSettings(staged, home)
			if err == nil && keys != nil && o.AssetKeyFile != "" {
				err = keys.Save(assetKeyFile(cfg))
			}
			return err
		}
		if res.Schemas, err = restoreDatabases(ctx, cfg, o, m, extracted, install); err != nil {
			return nil, err
		}
	}
	if err := importPackages(ctx, cfg, extracted, m.Packages); err != nil {
		if o.PackagesOnly {
			return nil, err
		}
		return nil, fmt.Errorf("%w\nthe settings and the database are restored; fix this, then run exekractl restore again with --packages-only", err)
	}
	res.Took = time.Since(started)
	reportRestore(o.Stdout, cfg, res, o.PackagesOnly)
	return res, nil
}

// prepareDirs makes the install dir's directories with the supervisor's
// modes (see supervisor.EnsureHome) — var/ and the install dir itself must
// be traversable by the private PostgreSQL's user — without writing any
// settings.
func prepareDirs(home string) error {
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{home, 0o755}, {filepath.Join(home, "config"), 0o755}, {filepath.Join(home, "logs"), 0o750}, {filepath.Join(home, "var"), 0o755}} {
		if _, err := os.Stat(d.path); err == nil {
			continue
		}
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return fmt.Errorf("install dir: %w", err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return fmt.Errorf("install dir: %w", err)
		}
	}
	return nil
}

// checkStopped refuses a running Hub: the addresses it would hold must be free.
func checkStopped(cfg *config.Config) error {
	b := []listenaddr.Binding{{Key: "gateway.listen", Addr: cfg.Gateway.Listen},
		{Key: "supervisor.metrics_listen", Addr: cfg.Supervisor.MetricsListen}}
	if cfg.NATS.URL == "" {
		b = append(b, listenaddr.Binding{Key: "nats.listen", Addr: cfg.NATS.Listen})
	}
	if err := listenaddr.CheckFree(b); err != nil {
		return fmt.Errorf("%w: is the Hub of %s running? restore works on a stopped install", err, cfg.Home)
	}
	return nil
}

// restoreDatabases checks that no target database holds a Hub schema yet,
// calls install (the settings), then loads each schema with pg_restore.
func restoreDatabases(ctx context.Context, cfg *config.Config, o RestoreOptions, m *Manifest, extracted string,
	install func() error) ([]string, error) {
	dumps := map[string]Schema{}
	for _, s := range m.Schemas {
		dumps[s.Service] = s
	}
	for _, s := range services {
		if _, ok := dumps[s.service]; !ok {
			return nil, fmt.Errorf("the archive holds no dump of service %s", s.service)
		}
	}
	pgRestore, err := pgTool("pg_restore", o.PgBin, programs.PathList(o.Environ))
	if err != nil {
		return nil, err
	}
	var private *privateServer
	defer func() { private.stop() }()
	targets, err := databaseTargets(cfg, func() (string, error) {
		p, err := startPrivate(ctx, cfg, o.Environ)
		if err != nil {
			return "", err
		}
		private = p
		return p.url, nil
	})
	if err != nil {
		return nil, err
	}
	if err := checkEmpty(ctx, targets); err != nil {
		return nil, err
	}
	if err := install(); err != nil {
		return nil, fmt.Errorf("write the settings: %w", err)
	}
	var done []string
	for _, t := range targets {
		s := dumps[t.service]
		if err := restoreSchema(ctx, pgRestore, o.Environ, t, memberFile(extracted, s.File), s.Migrations); err != nil {
			return nil, err
		}
		done = append(done, fmt.Sprintf("%s → %s", t.schema, describe(t.url)))
	}
	return done, nil
}

// checkEmpty refuses when any target database already holds its schema.
func checkEmpty(ctx context.Context, targets []dbTarget) error {
	var found []string
	for _, t := range targets {
		conn, err := pgx.Connect(ctx, forPgx(t.url))
		if err != nil {
			return fmt.Errorf("database %s (of %s) is unreachable: %w", describe(t.url), t.service, err)
		}
		present, err := schemasPresent(ctx, conn, []string{t.schema})
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("database %s: %w", describe(t.url), err)
		}
		if len(present) > 0 {
			found = append(found, t.schema+" in "+describe(t.url))
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%w: %s. Restore into a database without them — a fresh install that has never started "+
			"(for the private PostgreSQL: stop the Hub and move <install dir>/var/pg and var/pg-password away), "+
			"or drop those schemas yourself; nothing was changed", errSchemasExist, strings.Join(found, ", "))
	}
	return nil
}

// restoreSchema loads one dump in a single transaction, owned by the
// connecting user (the service's owner), and checks its migrations.
func restoreSchema(ctx context.Context, pgRestore string, environ []string, t dbTarget, dump string, want []Migration) error {
	conn, err := pgx.Connect(ctx, forPgx(t.url))
	if err != nil {
		return fmt.Errorf("database %s: %w", describe(t.url), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if t.schema == "audit" {
		if err := ensureAuditWriter(ctx, conn); err != nil {
			return err
		}
	}
	libpq, env := forLibpq(t.url)
	args := []string{"--no-owner", "--exit-on-error", "--single-transaction", "--dbname=" + libpq, dump}
	if _, err := runTool(ctx, pgRestore, args, toolEnv(environ, env)); err != nil {
		return fmt.Errorf("restore schema %s into %s: %w", t.schema, describe(t.url), err)
	}
	got, err := migrations(ctx, conn, t.schema)
	if err != nil {
		return err
	}
	if !sameMigrations(got, want) {
		return fmt.Errorf("schema %s restored with migrations %v, the manifest says %v", t.schema, versionsOf(got), versionsOf(want))
	}
	return nil
}

func reportRestore(w io.Writer, cfg *config.Config, r *RestoreResult, packagesOnly bool) {
	fmt.Fprintf(w, "restored into %s in %.1fs\n", cfg.Home, r.Took.Seconds())
	if !packagesOnly {
		fmt.Fprintf(w, "  settings: %s\n", strings.Join(r.Settings, ", "))
		if len(r.Moved) > 0 {
			fmt.Fprintf(w, "  files that were there before: %s\n", strings.Join(r.Moved, ", "))
		}
		if len(r.Kept) > 0 {
			fmt.Fprintf(w, "  kept this install's own %s (appended to .env)\n", strings.Join(r.Kept, ", "))
		}
		for _, s := range r.Schemas {
			fmt.Fprintf(w, "  schema %s\n", s)
		}
	}
	where := "nats.url"
	if cfg.NATS.URL == "" {
		where = cfg.Path(cfg.NATS.StoreDir)
	}
	fmt.Fprintf(w, "  %d package object(s) into %s\n", len(r.Manifest.Packages), where)
	fmt.Fprintf(w, "Next: start the Hub with the same EXEKRA_* environment as this command (exekra-hub --home %s,\n", cfg.Home)
	fmt.Fprintln(w, "or its service), check GET /api/health and exekractl audit verify, then point the Hub's name at this machine.")
}
