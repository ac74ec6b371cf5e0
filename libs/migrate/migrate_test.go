package migrate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
)

func sqlFile(body string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(body)} }

func TestLoadOrdersFilesByNumber(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql":  sqlFile("SELECT 10"),
		"m/0002_second.sql": sqlFile("SELECT 2"),
		"m/1_first.sql":     sqlFile("SELECT 1"),
		"m/README.md":       sqlFile("not a migration"),
		"m/sub/0003_x.sql":  sqlFile("in a subdirectory"),
	}
	files, err := migrate.Load(fsys, "m")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Name)
	}
	want := "1_first.sql 0002_second.sql 0010_later.sql"
	if strings.Join(got, " ") != want {
		t.Fatalf("order = %v, want %s", got, want)
	}
	if files[2].Version != 10 || files[2].SQL != "SELECT 10" {
		t.Fatalf("last file = %+v", files[2])
	}
}

func TestLoadRefusesBadSets(t *testing.T) {
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"a name without a number is refused", fstest.MapFS{"m/init.sql": sqlFile("")}, "init.sql: name must start with a positive number"},
		{"a name without an underscore is refused", fstest.MapFS{"m/0001.sql": sqlFile("")}, "0001.sql"},
		{"number zero is refused", fstest.MapFS{"m/0000_zero.sql": sqlFile("")}, "0000_zero.sql"},
		{"a negative number is refused", fstest.MapFS{"m/-1_neg.sql": sqlFile("")}, "-1_neg.sql"},
		{"a signed number is refused", fstest.MapFS{"m/+1_plus.sql": sqlFile("")}, "+1_plus.sql"},
		{"two files with one number are refused", fstest.MapFS{
			"m/0001_a.sql": sqlFile(""), "m/01_b.sql": sqlFile(""),
		}, "share number 1"},
		{"a missing directory is refused", fstest.MapFS{"other/0001_a.sql": sqlFile("")}, "read migrations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := migrate.Load(tt.files, "m")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

var twoFiles = []migrate.File{
	{Version: 1, Name: "0001_accounts.sql", SQL: "CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL)"},
	{Version: 2, Name: "0002_seed.sql", SQL: "INSERT INTO accounts VALUES (1, 'a@example.com'); INSERT INTO accounts VALUES (2, 'b@example.com')"},
}

func TestApplyAppliesEachFileOnce(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, "identity")
	t.Run("first start applies every file", func(t *testing.T) {
		n, err := migrate.Apply(ctx, pool, "identity", twoFiles)
		if err != nil || n != 2 {
			t.Fatalf("Apply() = %d, %v; want 2, nil", n, err)
		}
	})
	t.Run("second start applies nothing", func(t *testing.T) {
		n, err := migrate.Apply(ctx, pool, "identity", twoFiles)
		if err != nil || n != 0 {
			t.Fatalf("Apply() = %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("a new file is applied alone", func(t *testing.T) {
		more := append(twoFiles[:2:2], migrate.File{Version: 3, Name: "0003_index.sql", SQL: "CREATE INDEX ON accounts (email)"})
		n, err := migrate.Apply(ctx, pool, "identity", more)
		if err != nil || n != 1 {
			t.Fatalf("Apply() = %d, %v; want 1, nil", n, err)
		}
	})
	t.Run("tables land in the service schema", func(t *testing.T) {
		if got := count(t, pool, "SELECT count(*) FROM identity.accounts"); got != 2 {
			t.Fatalf("identity.accounts has %d rows, want 2", got)
		}
		if got := count(t, pool, "SELECT count(*) FROM identity.schema_migrations"); got != 3 {
			t.Fatalf("schema_migrations has %d rows, want 3", got)
		}
	})
	t.Run("an older program on the newer schema is refused and applies nothing", func(t *testing.T) {
		// It knows files 1 and 2 plus a 4 of its own, and finds 3 applied.
		older := append(twoFiles[:2:2], migrate.File{Version: 4, Name: "0004_more.sql", SQL: "CREATE TABLE more (id int)"})
		n, err := migrate.Apply(ctx, pool, "identity", older)
		var newer *migrate.NewerSchemaError
		if !errors.As(err, &newer) || newer.Version != 3 || n != 0 || !strings.Contains(err.Error(), "newer version") {
			t.Fatalf("Apply() = %d, %v; want a NewerSchemaError naming migration 3", n, err)
		}
		if got := count(t, pool, "SELECT count(*) FROM identity.schema_migrations"); got != 3 {
			t.Fatalf("schema_migrations has %d rows after the refusal, want 3", got)
		}
	})
}

func TestApplyRollsBackAFailingFile(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, "audit")
	files := []migrate.File{
		twoFiles[0],
		{Version: 2, Name: "0002_broken.sql", SQL: "CREATE TABLE half (id int); SELECT no_such_function()"},
	}
	n, err := migrate.Apply(ctx, pool, "audit", files)
	if err == nil || !strings.Contains(err.Error(), "0002_broken.sql") {
		t.Fatalf("Apply() error = %v, want it to name 0002_broken.sql", err)
	}
	if n != 1 {
		t.Errorf("Apply() applied %d files before the failure, want 1", n)
	}
	if got := count(t, pool, "SELECT count(*) FROM pg_tables WHERE schemaname = 'audit' AND tablename = 'half'"); got != 0 {
		t.Errorf("the failing file's table exists; its transaction was not rolled back")
	}
	if got := count(t, pool, "SELECT count(*) FROM audit.schema_migrations WHERE version = 2"); got != 0 {
		t.Errorf("the failing file is recorded as applied")
	}
	t.Run("a fixed file is applied on the next start", func(t *testing.T) {
		files[1].SQL = "CREATE TABLE half (id int)"
		if n, err := migrate.Apply(ctx, pool, "audit", files); err != nil || n != 1 {
			t.Fatalf("Apply() = %d, %v; want 1, nil", n, err)
		}
	})
}

func TestConcurrentApplyRunsEachFileExactlyOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL := pgtest.New(t)
	// A slow first file widens the window in which both instances race.
	files := []migrate.File{
		{Version: 1, Name: "0001_slow_table.sql", SQL: "SELECT pg_sleep(0.3); CREATE TABLE runners (id bigint PRIMARY KEY)"},
		{Version: 2, Name: "0002_row.sql", SQL: "INSERT INTO runners VALUES (1)"},
	}
	const instances = 2
	type result struct {
		n   int
		err error
	}
	results := make([]result, instances)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range instances {
		pool := open(t, dbURL, "runners")
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			n, err := migrate.Apply(ctx, pool, "runners", files)
			results[i] = result{n, err}
		}()
	}
	start.Done()
	done.Wait()
	total := 0
	for i, r := range results {
		if r.err != nil {
			t.Errorf("instance %d: Apply() error = %v", i, r.err)
		}
		total += r.n
	}
	if total != len(files) {
		t.Errorf("instances applied %d files in all, want %d", total, len(files))
	}
	check := open(t, dbURL, "runners")
	if got := count(t, check, "SELECT count(*) FROM runners.schema_migrations"); got != 2 {
		t.Errorf("schema_migrations has %d rows, want 2", got)
	}
	if got := count(t, check, "SELECT count(*) FROM runners.runners"); got != 1 {
		t.Errorf("runners has %d rows, want 1 (the insert ran once)", got)
	}
}

func open(t *testing.T, dbURL, schema string) *pgxpool.Pool {
	t.Helper()
	pool, err := sqldb.Open(context.Background(), dbURL, schema, 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func count(t *testing.T, pool *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestLoadReadsTheExpandMark(t *testing.T) {
	files, err := migrate.Load(fstest.MapFS{
		"m/0001_base.sql":  sqlFile("CREATE TABLE a (id int)"),
		"m/0002_more.sql":  sqlFile(migrate.ExpandMark + "\nALTER TABLE a ADD COLUMN note text;\nCREATE INDEX a_note ON a (note)"),
		"m/0003_later.sql": sqlFile("-- not the mark: migrate: expand\nCREATE TABLE b (id int)"),
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	if files[0].Expand || !files[1].Expand || files[2].Expand {
		t.Fatalf("expand marks read as %v %v %v, want false true false", files[0].Expand, files[1].Expand, files[2].Expand)
	}
	for _, stmt := range []string{"DROP TABLE a", "ALTER TABLE a RENAME TO c", "ALTER TABLE a ALTER COLUMN id TYPE bigint",
		"alter table a alter column id set not null", "TRUNCATE a", "ALTER TABLE a ALTER id SET DATA TYPE bigint"} {
		_, err := migrate.Load(fstest.MapFS{"m/0002_x.sql": sqlFile(migrate.ExpandMark + "\n" + stmt)}, "m")
		if err == nil || !strings.Contains(err.Error(), "marked expand") {
			t.Errorf("an expand migration holding %q: Load() = %v, want a refusal", stmt, err)
		}
	}
}

// An older program starts on a schema whose migrations it does not know
// only when every one of them is marked expand.
func TestApplyTakesNewerExpandMigrations(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t, "runners")
	// The schema_migrations table as a release before the expand column made it.
	if _, err := pool.Exec(ctx, `CREATE SCHEMA runners; CREATE TABLE runners.schema_migrations (
		version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	older := twoFiles[:1:1]
	if n, err := migrate.Apply(ctx, pool, "runners", older); err != nil || n != 1 {
		t.Fatalf("the older program's first start: %d, %v", n, err)
	}
	expand := migrate.File{Version: 2, Name: "0002_note.sql", SQL: "ALTER TABLE accounts ADD COLUMN note text", Expand: true}
	newer := []migrate.File{twoFiles[0], expand}
	if n, err := migrate.Apply(ctx, pool, "runners", newer); err != nil || n != 1 {
		t.Fatalf("the newer program: %d, %v", n, err)
	}
	if n, err := migrate.Apply(ctx, pool, "runners", older); err != nil || n != 0 {
		t.Fatalf("the older program restarted on a schema with a newer expand migration: %d, %v; want 0, nil", n, err)
	}
	contract := migrate.File{Version: 3, Name: "0003_drop.sql", SQL: "ALTER TABLE accounts DROP COLUMN email"}
	if n, err := migrate.Apply(ctx, pool, "runners", append(newer, contract)); err != nil || n != 1 {
		t.Fatalf("the release after, contracting: %d, %v", n, err)
	}
	for _, files := range [][]migrate.File{older, newer} {
		n, err := migrate.Apply(ctx, pool, "runners", files)
		var refused *migrate.NewerSchemaError
		if !errors.As(err, &refused) || refused.Version != 3 || n != 0 {
			t.Errorf("a program knowing %d migrations on the contracted schema: %d, %v; want a NewerSchemaError naming 3", len(files), n, err)
		}
	}
	if got := count(t, pool, "SELECT count(*) FROM runners.schema_migrations WHERE expand"); got != 1 {
		t.Errorf("%d migrations recorded as expand, want 1", got)
	}
}
