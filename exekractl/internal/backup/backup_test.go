package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

// schemaSQL stands in for each service's migrations: a table with a row,
// and for audit the append-only log with its grants, as migration 0002 has them.
var schemaSQL = map[string][]string{
	"identity":  {"CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL); INSERT INTO users VALUES (1, 'admin@acme.test')", "ALTER TABLE users ADD COLUMN name text"},
	"licensing": {"CREATE TABLE licenses (id text PRIMARY KEY); INSERT INTO licenses VALUES ('lic-1')"},
	"runners": {"CREATE TABLE packages (name text, version text, sha256 text NOT NULL, PRIMARY KEY (name, version))",
		"CREATE TABLE jobs (id int PRIMARY KEY, status text NOT NULL); INSERT INTO jobs VALUES (1, 'succeeded'), (2, 'pending')"},
	"audit": {`CREATE TABLE audit_log (seq bigint PRIMARY KEY, hash text NOT NULL);
		CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'append-only'; END $$;
		CREATE TRIGGER no_update BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
		INSERT INTO audit_log VALUES (1, 'aa'), (2, 'bb');
		DO $do$ BEGIN CREATE ROLE exekra_audit_writer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $do$;
		GRANT USAGE ON SCHEMA audit TO exekra_audit_writer;
		GRANT SELECT, INSERT ON audit_log TO exekra_audit_writer;
		GRANT exekra_audit_writer TO CURRENT_USER;`},
}

// migrateSchemas applies schemaSQL to a fresh database, as the services would.
func migrateSchemas(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	for schema, steps := range schemaSQL {
		fsys := fstest.MapFS{}
		for i, sql := range steps {
			fsys[filepath.Join("m", string(rune('1'+i))+"_step.sql")] = &fstest.MapFile{Data: []byte(sql)}
		}
		files, err := migrate.Load(fsys, "m")
		if err != nil {
			t.Fatal(err)
		}
		pool, err := sqldb.Open(ctx, url, schema, 2, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := migrate.Apply(ctx, pool, schema, files); err != nil {
			t.Fatalf("migrate %s: %v", schema, err)
		}
		pool.Close()
	}
}

// newHome writes an install dir whose settings point at dbURL.
func newHome(t *testing.T, dbURL string) string {
	t.Helper()
	home := t.TempDir()
	must(t, writeFile(filepath.Join(home, config.FileName), config.DefaultFile(), 0o644))
	must(t, writeFile(filepath.Join(home, ".env"), []byte("EXEKRA_DATABASE_URL="+dbURL+"\n"), 0o600))
	must(t, writeFile(filepath.Join(home, "config", "certs", "hub.crt"), []byte("CERT"), 0o644))
	must(t, writeFile(filepath.Join(home, "config", "certs", "hub.key"), []byte("KEY"), 0o600))
	must(t, writeFile(filepath.Join(home, "config", "audit-signing.key"), []byte("SIGNING"), 0o600))
	return home
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func putPackageBytes(t *testing.T, ctx context.Context, url string, data []byte) string {
	t.Helper()
	nc, js, err := connectNATS(url, "", "", t.Name())
	must(t, err)
	defer nc.Close()
	store, err := pkgstore.Open(ctx, js, 1)
	must(t, err)
	sum := sha256.Sum256(data)
	sha := hex.EncodeToString(sum[:])
	must(t, store.Put(ctx, sha, int64(len(data)), bytes.NewReader(data)))
	return sha
}

func TestBackupAndRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := pgtest.New(t)
	migrateSchemas(t, ctx, src)
	srcNATS := natstest.URL(t)
	zipBytes := bytes.Repeat([]byte("package bytes "), 1000)
	sha := putPackageBytes(t, ctx, srcNATS, zipBytes)
	conn, err := pgx.Connect(ctx, src)
	must(t, err)
	_, err = conn.Exec(ctx, "INSERT INTO runners.packages VALUES ('hello', '1.0.0', $1)", sha)
	conn.Close(ctx)
	must(t, err)

	home := newHome(t, src)
	environ := []string{"PATH=" + os.Getenv("PATH"), "EXEKRA_NATS_URL=" + srcNATS}
	out := filepath.Join(t.TempDir(), "hub.tar.gz")
	var log bytes.Buffer
	res, err := Backup(ctx, Options{Home: home, Out: out, Environ: environ, Stdout: &log})
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	t.Logf("backup: %d bytes in %s\n%s", res.Size, res.Took, log.String())
	if info, _ := os.Stat(out); info.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %s, want 0600", info.Mode().Perm())
	}
	m := res.Manifest
	if len(m.Schemas) != 4 || len(m.Packages) != 1 || m.Packages[0].SHA256 != sha || len(m.Warnings) != 0 {
		t.Fatalf("manifest: %+v", m)
	}
	if snap := m.Schemas[0].Snapshot; snap == "" || m.Schemas[3].Snapshot != snap {
		t.Errorf("schemas of one database should share a snapshot: %+v", m.Schemas)
	}
	if got := strings.Join(m.Files, ","); got != "config/audit-signing.key,config/certs/hub.crt,config/certs/hub.key,config/hub-config.json,.env" {
		t.Errorf("settings in the archive: %s", got)
	}
	if _, err := Backup(ctx, Options{Home: home, Out: out, Environ: environ}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("a second backup to the same file: %v, want a refusal", err)
	}

	// Disaster: restore on a new machine with another database and NATS, given by the environment.
	dst, dstNATS := pgtest.New(t), natstest.URL(t)
	newHome := filepath.Join(t.TempDir(), "new")
	renv := []string{"PATH=" + os.Getenv("PATH"), "EXEKRA_DATABASE_URL=" + dst, "EXEKRA_NATS_URL=" + dstNATS,
		"EXEKRA_GATEWAY_LISTEN=127.0.0.1:0", "EXEKRA_SUPERVISOR_METRICS_LISTEN=127.0.0.1:0"}
	log.Reset()
	if _, err := Restore(ctx, RestoreOptions{Home: newHome, From: out, Environ: renv, Stdout: &log}); err != nil {
		t.Fatalf("restore: %v\n%s", err, log.String())
	}
	t.Logf("restore:\n%s", log.String())
	checkRestoredDatabase(t, ctx, dst)
	checkRestoredFiles(t, home, newHome)
	nc, js, err := connectNATS(dstNATS, "", "", t.Name())
	must(t, err)
	defer nc.Close()
	obj, err := js.ObjectStore(ctx, pkgstore.Bucket)
	must(t, err)
	got, err := obj.GetBytes(ctx, sha)
	if err != nil || !bytes.Equal(got, zipBytes) {
		t.Fatalf("restored package: %v", err)
	}

	t.Run("a database that holds the schemas is refused, and nothing is changed", func(t *testing.T) {
		os.WriteFile(filepath.Join(newHome, config.FileName), []byte("{}"), 0o644)
		_, err := Restore(ctx, RestoreOptions{Home: newHome, From: out, Environ: renv})
		if !errors.Is(err, errSchemasExist) || !strings.Contains(err.Error(), "identity in") {
			t.Fatalf("restore over a restored database: %v", err)
		}
		if data, _ := os.ReadFile(filepath.Join(newHome, config.FileName)); string(data) != "{}" {
			t.Fatal("the settings were changed by a refused restore")
		}
	})
	t.Run("packages only puts the packages back", func(t *testing.T) {
		must(t, obj.Delete(ctx, sha))
		os.WriteFile(filepath.Join(newHome, config.FileName), config.DefaultFile(), 0o644)
		if _, err := Restore(ctx, RestoreOptions{Home: newHome, From: out, Environ: renv, PackagesOnly: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := obj.GetBytes(ctx, sha); err != nil {
			t.Fatal(err)
		}
	})
}

func checkRestoredDatabase(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	must(t, err)
	defer conn.Close(ctx)
	var email, hashes string
	var jobs int
	must(t, conn.QueryRow(ctx, "SELECT email FROM identity.users WHERE id = 1").Scan(&email))
	must(t, conn.QueryRow(ctx, "SELECT count(*) FROM runners.jobs").Scan(&jobs))
	if email != "admin@acme.test" || jobs != 2 {
		t.Errorf("restored rows: %q, %d jobs", email, jobs)
	}
	ms, err := migrations(ctx, conn, "identity")
	if err != nil || len(ms) != 2 {
		t.Errorf("identity migrations %v, %v", ms, err)
	}
	tx, err := conn.Begin(ctx)
	must(t, err)
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL ROLE exekra_audit_writer"); err != nil {
		t.Fatalf("the audit writer role: %v", err)
	}
	must(t, tx.QueryRow(ctx, "SELECT string_agg(hash, ',' ORDER BY seq) FROM audit.audit_log").Scan(&hashes))
	if hashes != "aa,bb" {
		t.Errorf("audit hashes %q", hashes)
	}
	if _, err := tx.Exec(ctx, "UPDATE audit.audit_log SET hash = 'x'"); err == nil {
		t.Error("the restored log accepts UPDATE")
	}
}

func checkRestoredFiles(t *testing.T, old, restored string) {
	t.Helper()
	for _, f := range []string{".env", "config/hub-config.json", "config/certs/hub.crt", "config/certs/hub.key", "config/audit-signing.key"} {
		a, _ := os.ReadFile(filepath.Join(old, f))
		b, err := os.ReadFile(filepath.Join(restored, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not restored as it was: %v", f, err)
		}
		ia, _ := os.Stat(filepath.Join(old, f))
		ib, _ := os.Stat(filepath.Join(restored, f))
		if ib != nil && ia.Mode().Perm() != ib.Mode().Perm() {
			t.Errorf("%s restored with mode %s, was %s", f, ib.Mode().Perm(), ia.Mode().Perm())
		}
	}
}

func TestDamagedArchiveIsRefused(t *testing.T) {
	dir := t.TempDir()
	member := filepath.Join(dir, "dump")
	must(t, os.WriteFile(member, []byte("the dump"), 0o600))
	out := filepath.Join(dir, "a.tar.gz")
	m := &Manifest{Format: Format, CreatedAt: time.Now()}
	if _, err := writeArchive(out, m, []staged{{name: "database/identity.dump", file: member, mode: 0o600}}); err != nil {
		t.Fatal(err)
	}
	if _, err := readArchive(out, filepath.Join(dir, "ok")); err != nil {
		t.Fatalf("a good archive: %v", err)
	}
	data, _ := os.ReadFile(out)
	data[len(data)/2] ^= 0xff
	corrupt := filepath.Join(dir, "corrupt.tar.gz")
	os.WriteFile(corrupt, data, 0o600)
	if _, err := readArchive(corrupt, filepath.Join(dir, "x")); err == nil {
		t.Fatal("a corrupted archive was read")
	}
	if _, err := readArchive(member, filepath.Join(dir, "y")); err == nil || !strings.Contains(err.Error(), "not a Hub backup") {
		t.Fatalf("not an archive: %v", err)
	}
	for _, name := range []string{"../x", "/etc/passwd", "home/../../x", "other/file", "home//x"} {
		if checkMemberName(name) == nil {
			t.Errorf("member name %q accepted", name)
		}
	}
}

func TestStageSettingsKeepsThisInstallsSiteKeys(t *testing.T) {
	archive := t.TempDir()
	custom := strings.Replace(string(config.DefaultFile()), `"listen": ":8443"`, `"listen": ":9443"`, 1)
	must(t, writeFile(filepath.Join(archive, "home", config.FileName), []byte(custom), 0o644))
	must(t, writeFile(filepath.Join(archive, "home", ".env"), []byte("EXEKRA_DATABASE_URL=postgres://old/db\nEXEKRA_LICENSE_PUBLIC_KEYS=abc"), 0o600))

	tests := []struct {
		name, ownFile, ownEnv string
		wantKept              string
		wantListen, wantDB    string
	}{
		{"a fresh install takes the archive's settings", "", "", "", ":9443", "postgres://old/db"},
		{"a default settings file (a first start) takes the archive's", string(config.DefaultFile()), "", "", ":9443", "postgres://old/db"},
		{"this install's own addresses and database stay", string(config.DefaultFile()),
			"EXEKRA_GATEWAY_LISTEN=:7443\nEXEKRA_DATABASE_URL=postgres://new/db\nEXEKRA_LICENSE_PUBLIC_KEYS=mine\n",
			"gateway.listen,database.url", ":7443", "postgres://new/db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target, dst := t.TempDir(), t.TempDir()
			if tt.ownFile != "" {
				must(t, writeFile(filepath.Join(target, config.FileName), []byte(tt.ownFile), 0o644))
			}
			if tt.ownEnv != "" {
				must(t, writeFile(filepath.Join(target, ".env"), []byte(tt.ownEnv), 0o600))
			}
			kept, err := stageSettings(archive, target, dst)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Load(dst, nil)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(kept, ",") != tt.wantKept || cfg.Gateway.Listen != tt.wantListen || cfg.Database.URL != tt.wantDB {
				t.Fatalf("kept %v, listen %s, database %s", kept, cfg.Gateway.Listen, cfg.Database.URL)
			}
			if got := strings.Join(cfg.License.PublicKeys, ","); got != "abc" {
				t.Errorf("license keys %s: they are the installation's, from the archive", got)
			}
			if info, _ := os.Stat(filepath.Join(dst, ".env")); info.Mode().Perm() != 0o600 {
				t.Errorf(".env mode %s", info.Mode().Perm())
			}
		})
	}
}

func TestForLibpq(t *testing.T) {
	conn, env := forLibpq("postgres://exekra:s3cr%40t@db:5432/exekra?sslmode=require&pool_max_conns=20&statement_cache_capacity=5")
	if strings.Contains(conn, "s3cr") || strings.Contains(conn, "pool_") || strings.Contains(conn, "statement_cache") || !strings.Contains(conn, "sslmode=require") {
		t.Errorf("connection string %s", conn)
	}
	if len(env) != 1 || env[0] != "PGPASSWORD=s3cr@t" {
		t.Errorf("env %v", env)
	}
	if describe("postgres://u:pw@db:6543/hub") != "db:6543/hub" {
		t.Errorf("describe = %s", describe("postgres://u:pw@db:6543/hub"))
	}
	if got := toolEnv([]string{"PATH=/bin", "EXEKRA_DATABASE_URL=x", "PGPASSWORD=old"}, env); strings.Join(got, " ") != "PATH=/bin PGCONNECT_TIMEOUT=10 PGPASSWORD=s3cr@t" {
		t.Errorf("tool env %v", got)
	}
}

func TestDefaultName(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 30, 12, 0, time.FixedZone("CET", 3600))
	if got := DefaultName(at); got != "exekra-hub-backup-20261127T0530Z.tar.gz" {
		t.Errorf("DefaultName = %s", got)
	}
}

func TestRestoredFilesBelongToTheInstallsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only a restore run as root hands its files over")
	}
	const uid, gid = 65534, 65534 // nobody: the Hub's user, owner of config/ (deploy/systemd)
	staged, target := t.TempDir(), t.TempDir()
	must(t, writeFile(filepath.Join(staged, "config", "certs", "hub.key"), []byte("KEY"), 0o600))
	must(t, writeFile(filepath.Join(staged, ".env"), []byte("EXEKRA_LOG_LEVEL=info\n"), 0o640))
	must(t, os.Mkdir(filepath.Join(target, "config"), 0o755))
	must(t, os.Chown(filepath.Join(target, "config"), uid, gid))
	must(t, os.WriteFile(filepath.Join(target, ".env"), []byte("old"), 0o640))
	must(t, os.Chown(filepath.Join(target, ".env"), 0, gid)) // root:exekra, as the install steps make it
	if _, _, err := installSettings(staged, target); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) (uint32, uint32) {
		info, err := os.Stat(filepath.Join(target, p))
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		return st.Uid, st.Gid
	}
	for _, p := range []string{"config/certs", "config/certs/hub.key"} {
		if u, g := owner(p); u != uid || g != gid {
			t.Errorf("%s owned by %d:%d, want the owner of config/ %d:%d", p, u, g, uid, gid)
		}
	}
	if u, g := owner(".env"); u != 0 || g != gid {
		t.Errorf(".env owned by %d:%d, want the replaced file's 0:%d", u, g, gid)
	}
}
