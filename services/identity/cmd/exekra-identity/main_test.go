package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
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

// licensingStandIn answers the admin email of an active license.
func licensingStandIn(t *testing.T, nc *nats.Conn, email string) {
	t.Helper()
	sub, err := nc.Subscribe(licensing.SubjectAdminEmail, func(m *nats.Msg) {
		m.Respond([]byte(`{"email":"` + email + `"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
}

// TestRun runs the real service (daemon, PostgreSQL, Redis, NATS) and signs
// the first administrator in.
func TestRun(t *testing.T) {
	dbURL, natsURL := pgtest.New(t), natstest.URL(t)
	args := []string{"--home", home(t)}
	environ := []string{"EXEKRA_DATABASE_URL=" + dbURL, "EXEKRA_NATS_URL=" + natsURL, "EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_IDENTITY_METRICS_LISTEN=127.0.0.1:0", "EXEKRA_DATABASE_CONNECT_TIMEOUT=5s"}
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
	licensingStandIn(t, nc, "ada@example.test")
	c := natsrpc.NewClient(nc, nil)
	anon := caller.With(context.Background(), caller.Info{RequestID: "smoke", SourceIP: "127.0.0.1"})

	t.Run("the service answers setup state once started", func(t *testing.T) {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			st, err := natsrpc.Call[identity.SetupState](anon, c, identity.SubjectSetupState, identity.SetupStateRequest{})
			if err == nil && !st.Bootstrapped {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("setup state: %+v, %v", st, err)
			}
		}
	})
	t.Run("bootstrap, sign-in and authentication work end to end", func(t *testing.T) {
		req := identity.BootstrapRequest{Email: "Ada@Example.test", Password: "correct horse battery staple", Name: "Ada"}
		if _, err := natsrpc.Call[identity.User](anon, c, identity.SubjectBootstrap, req); err != nil {
			t.Fatal(err)
		}
		s, err := natsrpc.Call[identity.Session](anon, c, identity.SubjectLogin, identity.LoginRequest{Email: req.Email, Password: req.Password})
		if err != nil {
			t.Fatal(err)
		}
		p, err := natsrpc.Call[identity.Principal](anon, c, identity.SubjectAuthenticate, identity.AuthenticateRequest{Token: s.Token})
		if err != nil || p.User.Role != identity.RoleAdmin {
			t.Fatalf("principal %+v, %v", p, err)
		}
	})
	t.Run("the schema has the service's migrations and the audit outbox", func(t *testing.T) {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var versions []int
		rows, _ := conn.Query(context.Background(), "SELECT version FROM identity.schema_migrations ORDER BY version")
		if versions, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil || !ownThenOutbox(versions) {
			t.Fatalf("migrations %v, %v", versions, err)
		}
		var events int
		if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM identity.audit_outbox").Scan(&events); err != nil || events != 2 {
			t.Fatalf("outbox rows %d, %v", events, err)
		}
	})
}

// ownThenOutbox reports whether versions are the service's own migrations
// 1, 2, … in order, then the audit outbox's (1000).
func ownThenOutbox(versions []int) bool {
	n := len(versions)
	if n < 2 || versions[n-1] != 1000 {
		return false
	}
	for i, v := range versions[:n-1] {
		if v != i+1 {
			return false
		}
	}
	return true
}
