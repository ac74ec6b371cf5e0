package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
)

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

// licensingStandIn allows every registration.
func licensingStandIn(t *testing.T, nc *nats.Conn) {
	t.Helper()
	sub, err := nc.Subscribe(licensing.SubjectCheck, func(m *nats.Msg) { m.Respond([]byte(`{"status":"active"}`)) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
}

// TestRun runs the real service (daemon, PostgreSQL, Redis, NATS): it
// registers a runner, takes its heartbeat, and sees the flusher write it.
func TestRun(t *testing.T) {
	dbURL, natsURL := pgtest.New(t), natstest.URL(t)
	args := []string{"--home", home(t)}
	environ := []string{"EXEKRA_DATABASE_URL=" + dbURL, "EXEKRA_NATS_URL=" + natsURL, "EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_RUNNERS_METRICS_LISTEN=127.0.0.1:0", "EXEKRA_DATABASE_CONNECT_TIMEOUT=5s"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, spec(), args, environ, &bytes.Buffer{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run = %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15s of its context ending")
		}
	})
	nc := natstest.Connect(t, natsURL)
	licensingStandIn(t, nc)
	c := natsrpc.NewClient(nc, nil)
	admin := caller.With(context.Background(), caller.Info{RequestID: "smoke", SourceIP: "127.0.0.1",
		Actor: caller.Actor{Type: "user", ID: "00000000-0000-4000-8000-000000000001", Role: "ADMIN"}})
	gw := caller.With(context.Background(), caller.Info{RequestID: "smoke", SourceIP: "192.0.2.5"})

	var reg runners.Registered
	t.Run("the service registers a runner once started", func(t *testing.T) {
		req := runners.RegisterRequest{Name: "smoke", Environment: runners.EnvDevelopment}
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var err error
			if reg, err = natsrpc.Call[runners.Registered](admin, c, runners.SubjectRegister, req); err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("register: %v", err)
			}
		}
	})
	t.Run("a heartbeat reaches PostgreSQL through the flusher", func(t *testing.T) {
		hb := runners.HeartbeatRequest{Credentials: runners.Credentials{RunnerID: reg.Runner.ID, SecretSHA256: runners.SecretSHA256(reg.MachineSecret)},
			Heartbeat: runners.Heartbeat{Version: "1.0.0", OS: "linux/amd64", Hostname: "smoke"}}
		if _, err := natsrpc.Call[runners.HeartbeatResponse](gw, c, runners.SubjectHeartbeat, hb); err != nil {
			t.Fatal(err)
		}
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			var from *string
			if err := conn.QueryRow(context.Background(), "SELECT connected_from FROM runners.runners WHERE id = $1", reg.Runner.ID).Scan(&from); err != nil {
				t.Fatal(err)
			}
			if from != nil && *from == "192.0.2.5" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the heartbeat did not reach PostgreSQL within 15s")
			}
		}
	})
	t.Run("the schema has the service's migrations and the audit outbox", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, _ := conn.Query(context.Background(), "SELECT version FROM runners.schema_migrations ORDER BY version")
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil || !slices.Equal(versions, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 1000}) {
			t.Fatalf("migrations %v, %v", versions, err)
		}
	})
}
