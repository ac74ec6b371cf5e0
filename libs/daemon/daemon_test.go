package daemon_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/health"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/jackc/pgx/v5"
)

const subjWhoAmI = "exekra.identity.v1.test.whoami"

// home writes the default settings file into a fresh install dir.
func home(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, config.FileName), config.DefaultFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func identitySpec(t *testing.T) daemon.Spec {
	t.Helper()
	files, err := migrate.Load(fstest.MapFS{
		"m/0001_users.sql": {Data: []byte("CREATE TABLE users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE)")},
	}, "m")
	if err != nil {
		t.Fatal(err)
	}
	return daemon.Spec{
		Name: "identity", Description: "test identity", Migrations: files, UsesRedis: true,
		Setup: func(_ context.Context, d *daemon.Deps) ([]natsrpc.Endpoint, error) {
			if d.DB == nil || d.Redis == nil || d.NATS == nil || d.Log == nil || d.Metrics == nil || d.Config == nil {
				return nil, errors.New("missing dependency")
			}
			return []natsrpc.Endpoint{natsrpc.Handle(subjWhoAmI, func(context.Context, struct{}) (string, error) {
				return "identity", nil
			})}, nil
		},
	}
}

// running is one daemon.Run on its own goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returns
	err    error         // what Run returned, once done is closed
}

// wait returns Run's error, failing t if Run does not return within limit.
func (r *running) wait(t *testing.T, limit time.Duration) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(limit):
		t.Fatalf("Run did not return within %s", limit)
		return nil
	}
}

// run starts daemon.Run in a fresh install dir; it is stopped when t ends.
func run(t *testing.T, spec daemon.Spec, environ []string) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan struct{})}
	args := []string{"--home", home(t)}
	go func() {
		defer close(r.done)
		r.err = daemon.Run(ctx, spec, args, environ, &bytes.Buffer{})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15s of its context ending")
		}
	})
	return r
}

func TestRunServesUntilCancelled(t *testing.T) {
	dbURL := pgtest.New(t)
	natsURL := natstest.URL(t)
	spec := identitySpec(t)
	r := run(t, spec, []string{
		"EXEKRA_DATABASE_URL=" + dbURL,
		"EXEKRA_NATS_URL=" + natsURL,
		"EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_IDENTITY_METRICS_LISTEN=127.0.0.1:0",
		"EXEKRA_DATABASE_CONNECT_TIMEOUT=5s",
	})
	c := natsrpc.NewClient(natstest.Connect(t, natsURL), nil)
	st := waitForStatus(t, c, r)

	t.Run("status reports the service and its dependencies up", func(t *testing.T) {
		if st.Service != "identity" || st.Version != buildinfo.Version || st.Instance == "" {
			t.Errorf("status = %+v", st)
		}
		if st.Database.Status != health.Up {
			t.Errorf("database = %+v, want up", st.Database)
		}
		if st.Redis == nil || st.Redis.Status != health.Up {
			t.Errorf("redis = %+v, want up", st.Redis)
		}
	})
	t.Run("the service's own endpoints answer", func(t *testing.T) {
		got, err := natsrpc.Call[string](context.Background(), c, subjWhoAmI, struct{}{})
		if err != nil || got != "identity" {
			t.Fatalf("whoami = %q, %v", got, err)
		}
	})
	t.Run("migrations are applied to the service schema", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var name string
		if err := conn.QueryRow(context.Background(), "SELECT name FROM identity.schema_migrations").Scan(&name); err != nil || name != "0001_users.sql" {
			t.Fatalf("schema_migrations: %q, %v", name, err)
		}
		if _, err := conn.Exec(context.Background(), "SELECT id, email FROM identity.users"); err != nil {
			t.Fatalf("identity.users: %v", err)
		}
	})
	t.Run("cancelling the context stops Run promptly and cleanly", func(t *testing.T) {
		r.cancel()
		if err := r.wait(t, 5*time.Second); err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		// Unanswered at once, or after the deadline if the bus has not yet
		// noticed the closed connection: unavailable either way.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := natsrpc.Call[health.Status](ctx, c, health.StatusSubject("identity"), health.StatusRequest{})
		if !errs.Is(err, errs.Unavailable) {
			t.Fatalf("status after stop: %v, want unavailable", err)
		}
	})
}

func TestRunFailsClearlyAtStartUp(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dbURL := pgtest.New(t)
	natsURL := natstest.URL(t)
	failingSetup := identitySpec(t)
	failingSetup.Setup = func(context.Context, *daemon.Deps) ([]natsrpc.Endpoint, error) {
		return nil, errors.New("no signing key")
	}
	tests := []struct {
		name    string
		spec    daemon.Spec
		environ []string
		want    []string
	}{
		{
			name: "an unreachable database is named",
			spec: identitySpec(t),
			environ: []string{
				"EXEKRA_DATABASE_URL=postgres://exekra:hunter2@127.0.0.1:1/hub?sslmode=disable",
				"EXEKRA_DATABASE_CONNECT_TIMEOUT=1s",
			},
			want: []string{"PostgreSQL at 127.0.0.1:1", "unreachable"},
		},
		{
			name:    "an unreachable Redis is named",
			spec:    identitySpec(t),
			environ: []string{"EXEKRA_DATABASE_URL=" + dbURL, "EXEKRA_REDIS_URL=redis://127.0.0.1:1/0", "EXEKRA_DATABASE_CONNECT_TIMEOUT=1s"},
			want:    []string{"Redis at 127.0.0.1:1", "unreachable"},
		},
		{
			name:    "an unreachable NATS is named",
			spec:    identitySpec(t),
			environ: []string{"EXEKRA_DATABASE_URL=" + dbURL, "EXEKRA_REDIS_URL=" + redistest.New(t), "EXEKRA_NATS_URL=nats://127.0.0.1:1"},
			want:    []string{"NATS at nats://127.0.0.1:1"},
		},
		{
			name:    "a metrics port in use names its key",
			spec:    identitySpec(t),
			environ: []string{"EXEKRA_IDENTITY_METRICS_LISTEN=" + busy.Addr().String()},
			want:    []string{"identity.metrics_listen", busy.Addr().String()},
		},
		{
			name:    "a failing setup names the service",
			spec:    failingSetup,
			environ: []string{"EXEKRA_DATABASE_URL=" + dbURL, "EXEKRA_REDIS_URL=" + redistest.New(t), "EXEKRA_NATS_URL=" + natsURL},
			want:    []string{"set up identity", "no signing key"},
		},
		{
			name:    "an unknown variable is refused",
			spec:    identitySpec(t),
			environ: []string{"EXEKRA_DATABASE_ULR=x"},
			want:    []string{"EXEKRA_DATABASE_ULR"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ := append([]string{"EXEKRA_IDENTITY_METRICS_LISTEN=127.0.0.1:0"}, tt.environ...)
			start := time.Now()
			err := run(t, tt.spec, environ).wait(t, 10*time.Second)
			if err == nil {
				t.Fatal("Run() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run() error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Run() error %q shows the password", err)
			}
			if took := time.Since(start); took > 6*time.Second {
				t.Errorf("Run took %s to fail", took)
			}
		})
	}
}

func TestRunFreesTheMetricsPortWhenStartUpFails(t *testing.T) {
	addr := freeAddr(t)
	r := run(t, identitySpec(t), []string{
		"EXEKRA_IDENTITY_METRICS_LISTEN=" + addr,
		"EXEKRA_DATABASE_URL=postgres://exekra@127.0.0.1:1/hub?sslmode=disable",
		"EXEKRA_DATABASE_CONNECT_TIMEOUT=1s",
	})
	if err := r.wait(t, 10*time.Second); err == nil {
		t.Fatal("Run() = nil, want an error")
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still bound after Run failed: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunPrintsItsVersion(t *testing.T) {
	var out bytes.Buffer
	if err := daemon.Run(context.Background(), identitySpec(t), []string{"--version"}, nil, &out); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != buildinfo.String() {
		t.Fatalf("--version printed %q", out.String())
	}
}

// waitForStatus calls the status endpoint until the service answers.
func waitForStatus(t *testing.T, c *natsrpc.Client, r *running) health.Status {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		st, err := natsrpc.Call[health.Status](ctx, c, health.StatusSubject("identity"), health.StatusRequest{})
		cancel()
		if err == nil {
			return st
		}
		select {
		case <-r.done:
			t.Fatalf("Run returned before serving: %v", r.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("status did not answer within 15s: %v", err)
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
