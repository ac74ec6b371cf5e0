package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestRelayOutlivesUnansweredRequests runs the relay under a context with a
// long deadline, as a caller's lifetime, while one of its NATS requests is
// never answered: the relay must give up on that request and carry on, not
// wait for the deadline.
func TestRelayOutlivesUnansweredRequests(t *testing.T) {
	tests := []struct {
		name string
		// swallow returns the relay's JetStream API prefix and, on the
		// connection, starts taking requests the relay will never see answered.
		swallow func(t *testing.T, nc *nats.Conn) string
	}{
		{
			name: "a confirmation lost with the audit instance that took it",
			swallow: func(t *testing.T, nc *nats.Conn) string {
				t.Helper()
				var lost atomic.Bool
				answer(t, nc, func(ids []string) []string {
					if lost.CompareAndSwap(false, true) {
						return nil // killed mid-request: no reply
					}
					return ids
				})
				return jetstream.DefaultAPIPrefix
			},
		},
		{
			name: "a stream set-up request lost in a NATS restart",
			swallow: func(t *testing.T, nc *nats.Conn) string {
				t.Helper()
				answer(t, nc, func(ids []string) []string { return ids })
				sub, err := nc.Subscribe("lost.API.>", func(*nats.Msg) {})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { sub.Unsubscribe() })
				return "lost.API."
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc := natstest.Conn(t)
			pool := pgtest.Pool(t, "svc")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := migrate.Apply(ctx, pool, "svc", []migrate.File{outbox.Migration(1000)}); err != nil {
				t.Fatal(err)
			}
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			if err := outbox.EnsureStream(ctx, js, 1); err != nil {
				t.Fatal(err)
			}
			w := outbox.Writer{Service: "svc"}
			for range 3 {
				if err := w.Record(ctx, pool, audit.Event{Action: "test.relay", Target: audit.Target{Type: "n", ID: "1"}}); err != nil {
					t.Fatal(err)
				}
			}
			relay, err := outbox.NewRelay(pool, nc, natsrpc.NewClient(nc, nil), "svc", slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if prefix := tt.swallow(t, nc); prefix != jetstream.DefaultAPIPrefix {
				if relay.JS, err = jetstream.NewWithAPIPrefix(nc, prefix); err != nil {
					t.Fatal(err)
				}
			}
			relay.Timeout = time.Second
			done := make(chan struct{})
			go func() {
				defer close(done)
				relay.Run(ctx)
			}()
			defer func() { cancel(); <-done }()

			waitDrained(ctx, t, pool, "the relay is stuck on an unanswered request")
		})
	}
}

// answer serves audit.SubjectConfirm, replying with present(ids) or, when that
// is nil, not at all.
func answer(t *testing.T, nc *nats.Conn, present func(ids []string) []string) {
	t.Helper()
	sub, err := nc.Subscribe(audit.SubjectConfirm, func(m *nats.Msg) {
		var req audit.ConfirmRequest
		if err := json.Unmarshal(m.Data, &req); err != nil {
			t.Errorf("confirm request: %v", err)
			return
		}
		ids := present(req.IDs)
		if ids == nil {
			return
		}
		data, _ := json.Marshal(audit.ConfirmResponse{Present: ids})
		m.Respond(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
}

// TestRelayLeavesTheStreamAsTheAuditServiceMadeIt: the relay of every
// service must not rewrite the AUDIT stream's settings (it once set one
// replica on every start, scaling the enterprise cluster's three copies down
// to one), nor create it: only the audit service may (libs/busauth), and
// until it has, events wait in the outbox.
func TestRelayLeavesTheStreamAsTheAuditServiceMadeIt(t *testing.T) {
	nc := natstest.Conn(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := pgtest.Pool(t, "svc")
	if _, err := migrate.Apply(ctx, pool, "svc", []migrate.File{outbox.Migration(1000)}); err != nil {
		t.Fatal(err)
	}
	answer(t, nc, func(ids []string) []string { return ids })
	run := func(t *testing.T, before func()) {
		t.Helper()
		relay, err := outbox.NewRelay(pool, nc, natsrpc.NewClient(nc, nil), "svc", slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		if err := (outbox.Writer{Service: "svc"}).Record(ctx, pool, audit.Event{Action: "test.relay", Target: audit.Target{Type: "n", ID: "1"}}); err != nil {
			t.Fatal(err)
		}
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); relay.Run(rctx) }()
		defer func() { stop(); <-done }()
		before()
		waitDrained(ctx, t, pool, "")
	}

	t.Run("a missing stream is waited for", func(t *testing.T) {
		run(t, func() {
			time.Sleep(time.Second)
			if _, err := js.Stream(ctx, audit.Stream); !errors.Is(err, jetstream.ErrStreamNotFound) {
				t.Fatalf("stream %s after the relay ran: %v, want none", audit.Stream, err)
			}
			var pending int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_outbox").Scan(&pending); err != nil || pending != 1 {
				t.Fatalf("outbox holds %d events (%v), want the 1 waiting", pending, err)
			}
			if err := outbox.EnsureStream(ctx, js, 1); err != nil {
				t.Fatal(err)
			}
		})
	})
	t.Run("an existing stream keeps its settings", func(t *testing.T) {
		s, err := js.Stream(ctx, audit.Stream)
		if err != nil {
			t.Fatal(err)
		}
		cfg := s.CachedInfo().Config
		cfg.MaxAge, cfg.Description = time.Hour, "as the audit service set it"
		if _, err := js.UpdateStream(ctx, cfg); err != nil {
			t.Fatal(err)
		}
		run(t, func() {})
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.Config.MaxAge != time.Hour || info.Config.Description != "as the audit service set it" {
			t.Fatalf("the relay changed the stream: max age %s, description %q", info.Config.MaxAge, info.Config.Description)
		}
	})
}

// waitDrained waits up to 15 s for the outbox to be empty: every event
// relayed and confirmed. why says what it means when it is not.
func waitDrained(ctx context.Context, t *testing.T, pool *pgxpool.Pool, why string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var pending int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_outbox").Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events still in the outbox after 15s %s", pending, why)
		}
	}
}
