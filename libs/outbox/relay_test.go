package outbox_test

import (
	"context"
	"encoding/json"
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

			deadline := time.Now().Add(15 * time.Second)
			for {
				var pending int
				if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_outbox").Scan(&pending); err != nil {
					t.Fatal(err)
				}
				if pending == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d events still in the outbox after 15s: the relay is stuck on an unanswered request", pending)
				}
				time.Sleep(100 * time.Millisecond)
			}
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
