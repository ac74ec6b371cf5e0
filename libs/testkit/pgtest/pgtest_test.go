package pgtest_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestNewGivesAFreshDatabaseDroppedAtTheEnd(t *testing.T) {
	var name string
	t.Run("the database exists during the test", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), pgtest.New(t))
		if err != nil {
			t.Fatalf("connect to the new database: %v", err)
		}
		defer conn.Close(context.Background())
		if err := conn.QueryRow(context.Background(), "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(name, "exk_test_") {
			t.Fatalf("database name %q does not start with exk_test_", name)
		}
	})
	t.Run("the database is gone after the test", func(t *testing.T) {
		if databaseExists(t, name) {
			t.Fatalf("database %s was not dropped", name)
		}
	})
}

func TestPoolIsBoundToTheSchema(t *testing.T) {
	pool := pgtest.Pool(t, "identity")
	var path string
	if err := pool.QueryRow(context.Background(), "SHOW search_path").Scan(&path); err != nil {
		t.Fatal(err)
	}
	if path != "identity" {
		t.Fatalf("search_path = %q, want identity", path)
	}
}

func TestUnreachableServerFailsTheTestClearly(t *testing.T) {
	t.Setenv(pgtest.EnvURL, "postgres://postgres:hunter2@127.0.0.1:1/postgres?sslmode=disable")
	rec := &recorder{TB: t}
	rec.run(func() { pgtest.New(rec) })
	if !rec.failed {
		t.Fatal("New on an unreachable server did not fail the test")
	}
	for _, want := range []string{"127.0.0.1:1", "start PostgreSQL", pgtest.EnvURL} {
		if !strings.Contains(rec.msg, want) {
			t.Errorf("failure %q does not mention %q", rec.msg, want)
		}
	}
	if strings.Contains(rec.msg, "hunter2") {
		t.Errorf("failure %q shows the password", rec.msg)
	}
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	return exists
}

// recorder is a testing.TB whose Fatalf is recorded instead of failing the
// real test, so that a helper's failure can itself be checked.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msg    string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls fn on its own goroutine, as Fatalf ends the goroutine it runs on.
func (r *recorder) run(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	<-done
}
