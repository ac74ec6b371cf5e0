package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
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
			pool, nc := freshOutbox(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
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

// startRelay runs a relay of service "svc" on pool until the test ends or
// the returned stop is called.
func startRelay(t *testing.T, pool *pgxpool.Pool, nc *nats.Conn) (stop func()) {
	t.Helper()
	relay, err := outbox.NewRelay(pool, nc, natsrpc.NewClient(nc, nil), "svc", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	relay.LeadEvery = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// relayed counts the publishes of each event on the stream's subject.
func relayed(t *testing.T, nc *nats.Conn) func() map[string]int {
	t.Helper()
	var mu sync.Mutex
	seen := map[string]int{}
	sub, err := nc.Subscribe(audit.SubjectEvents+".svc", func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		seen[m.Header.Get(jetstream.MsgIDHeader)]++
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Unsubscribe() })
	return func() map[string]int {
		nc.Flush()
		mu.Lock()
		defer mu.Unlock()
		return maps.Clone(seen)
	}
}

// freshOutbox is an empty outbox of service "svc" and a NATS server with
// the AUDIT stream.
func freshOutbox(t *testing.T) (*pgxpool.Pool, *nats.Conn) {
	t.Helper()
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
	return pool, nc
}

// outboxWithStream is a fresh outbox of service "svc", the AUDIT stream and
// an audit service stand-in that confirms every event once it was published.
func outboxWithStream(t *testing.T) (*pgxpool.Pool, *nats.Conn, func() map[string]int) {
	t.Helper()
	pool, nc := freshOutbox(t)
	counts := relayed(t, nc)
	answer(t, nc, func(ids []string) []string {
		got, present := counts(), []string{}
		for _, id := range ids {
			if got[id] > 0 {
				present = append(present, id)
			}
		}
		return present
	})
	return pool, nc, counts
}

func record(ctx context.Context, t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	for i := range n {
		if err := (outbox.Writer{Service: "svc"}).Record(ctx, pool, audit.Event{Action: "test.relay", Target: audit.Target{Type: "n", ID: strconv.Itoa(i)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOneRelayOfAServicePublishes: the instances of a service share its
// outbox; one relay leads and publishes each event once, and when it stops
// another takes over.
func TestOneRelayOfAServicePublishes(t *testing.T) {
	pool, nc, counts := outboxWithStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	locks := func() int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := startRelay(t, pool, nc) // the leader: it is alone when it starts
	for deadline := time.Now().Add(10 * time.Second); locks() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the relay took no lock")
		}
	}
	startRelay(t, pool, nc)
	startRelay(t, pool, nc)
	record(ctx, t, pool, 200)
	waitDrained(ctx, t, pool, "with three relays")
	for id, n := range counts() {
		if n != 1 {
			t.Errorf("event %s published %d times by three relays, want once", id, n)
		}
	}
	if got := len(counts()); got != 200 {
		t.Fatalf("%d events published, want 200", got)
	}
	if n := locks(); n != 1 {
		t.Fatalf("%d relay locks held, want 1", n)
	}

	first()
	record(ctx, t, pool, 50)
	waitDrained(ctx, t, pool, "after the leading relay stopped")
	if got := len(counts()); got != 250 {
		t.Fatalf("%d events published, want 250", got)
	}
}

// TestARelayPublishesARowCommittedAfterALaterOne: seq is taken when a row is
// written, not when its transaction commits, so the leader may read row 2
// before row 1 exists for it. Row 1 must still go out.
func TestARelayPublishesARowCommittedAfterALaterOne(t *testing.T) {
	pool, nc, counts := outboxWithStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	slow, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback(ctx)
	late, err := (outbox.Writer{Service: "svc"}).Append(ctx, slow, audit.Event{Action: "test.relay", Target: audit.Target{Type: "n", ID: "late"}})
	if err != nil {
		t.Fatal(err)
	}
	startRelay(t, pool, nc)
	record(ctx, t, pool, 3)
	for deadline := time.Now().Add(10 * time.Second); len(counts()) < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the later rows were not published: %v", counts())
		}
	}
	if err := slow.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	waitDrained(ctx, t, pool, "with a row committed after the relay read later ones")
	if counts()[late.ID] == 0 {
		t.Fatal("the row committed late was deleted without being published")
	}
}

// TestARelayTakesOverFromAHungOne: a relay that holds the lock and stops
// querying (an instance hung, its connection still up) would keep every
// event of its service in the outbox. One waiting to lead ends its session.
func TestARelayTakesOverFromAHungOne(t *testing.T) {
	pool, nc, counts := outboxWithStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := pool.Config().ConnConfig
	cfg.RuntimeParams["application_name"] = "exekra audit outbox relay svc"
	hung, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close(ctx)
	if _, err := hung.Exec(ctx, "SELECT pg_advisory_lock(hashtext('exekra audit outbox relay svc'))"); err != nil {
		t.Fatal(err)
	}
	record(ctx, t, pool, 5)

	relay, err := outbox.NewRelay(pool, nc, natsrpc.NewClient(nc, nil), "svc", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	relay.LeadEvery, relay.StaleAfter = 100*time.Millisecond, 2*time.Second
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); relay.Run(rctx) }()
	defer func() { stop(); <-done }()

	time.Sleep(time.Second)
	if n := len(counts()); n != 0 {
		t.Fatalf("%d events published while another session held the lock and was not yet stale", n)
	}
	waitDrained(ctx, t, pool, "with the lock held by a hung session")
	if err := hung.Ping(ctx); err == nil {
		t.Fatal("the hung session is still up")
	}
}
