package natsapi_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/audit/internal/checkpoint"
	"github.com/exekra/hub/services/audit/internal/ingest"
	"github.com/exekra/hub/services/audit/internal/natsapi"
	"github.com/exekra/hub/services/audit/internal/postgres"
	"github.com/exekra/hub/services/audit/internal/streamcheck"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// env is the audit service on real PostgreSQL and NATS: the ingest consuming
// the AUDIT stream into the log, and the endpoints served over NATS.
type env struct {
	owner *pgxpool.Pool // the database owner (a superuser here), who can tamper
	store *postgres.Store
	js    jetstream.JetStream
	rpc   *natsrpc.Client
	key   ed25519.PrivateKey
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	dbURL := pgtest.New(t)
	owner, err := sqldb.Open(ctx, dbURL, "audit", 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	files, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, owner, "audit", files); err != nil {
		t.Fatal(err)
	}
	writer, err := sqldb.Open(ctx, dbURL, "audit", 4, 5*time.Second, sqldb.AsRole(postgres.WriterRole))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(writer.Close)
	url := natstest.URL(t)
	js, err := jetstream.New(natstest.Connect(t, url))
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.EnsureStream(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e := &env{owner: owner, store: postgres.NewStore(writer), js: js, rpc: natsrpc.NewClient(natstest.Connect(t, url), nil),
		key: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))}
	in := &ingest.Ingest{JS: js, Log: log, Store: e.store, Metrics: ingest.NewMetrics(prometheus.NewRegistry()), Replicas: 1, Batch: 100}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); in.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })
	natsrpctest.Serve(t, natstest.Connect(t, url), log, "exekra-audit", natsapi.Endpoints(e.store, streamcheck.JetStream{JS: js, Consumer: ingest.Consumer})...)
	return e
}

func testEvent() audit.Event {
	return audit.Event{ID: uuid.NewString(), At: time.Now().UTC(), Action: "test.action", Outcome: audit.Success,
		Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"}, Target: audit.Target{Type: "thing", ID: "t"},
		Service: "test", Version: "1", Details: map[string]any{}}
}

// publish sends n new events as a relay does and waits until the audit
// service has consumed everything in the stream.
func (e *env) publish(t *testing.T, n int) {
	t.Helper()
	for range n {
		ev := testEvent()
		e.send(t, ev.ID, ev)
	}
	e.waitConsumed(t)
}

// send publishes payload under msgID, as a relay (re)publishes an event.
func (e *env) send(t *testing.T, msgID string, payload any) {
	t.Helper()
	data, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: audit.SubjectEvents + ".test", Data: data},
		jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

// waitConsumed waits until the durable consumer's acknowledged floor is the
// stream's last message: the log holds all it will take of the stream.
func (e *env) waitConsumed(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s, err := e.js.Stream(ctx, audit.Stream)
		if err != nil {
			t.Fatal(err)
		}
		last := s.CachedInfo().State.LastSeq
		if c, err := e.js.Consumer(ctx, audit.Stream, ingest.Consumer); err == nil && c.CachedInfo().AckFloor.Stream >= last {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit service did not consume the stream up to seq %d", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkpoint signs the log's head now, as the service does periodically.
func (e *env) checkpoint(t *testing.T) int64 {
	t.Helper()
	seq, hash, err := e.store.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.SaveCheckpoint(context.Background(), checkpoint.Sign(e.key, seq, hash, time.Now())); err != nil {
		t.Fatal(err)
	}
	return seq
}

// tamper runs stmts as the database owner with the append-only triggers off.
func (e *env) tamper(t *testing.T, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.owner.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range stmts {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *env) verify(t *testing.T) audit.VerifyResponse {
	t.Helper()
	ctx := caller.With(context.Background(), caller.Info{Actor: caller.Actor{Type: "user", ID: "u", Role: "ADMIN"}})
	v, err := natsrpc.Call[audit.VerifyResponse](ctx, e.rpc, audit.SubjectVerify, audit.VerifyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func wantBroken(t *testing.T, v audit.VerifyResponse, firstBad int64, reason ...string) {
	t.Helper()
	if v.OK || v.FirstBadSeq != firstBad {
		t.Fatalf("verify = %+v, want broken at seq %d", v, firstBad)
	}
	for _, r := range reason {
		if !strings.Contains(v.Reason, r) {
			t.Fatalf("reason %q does not say %q", v.Reason, r)
		}
	}
}

// TestVerifyFindsADeletedTail: deleting the log's newest rows leaves a valid
// chain; verify must still notice, from the stream or the newest checkpoint.
func TestVerifyFindsADeletedTail(t *testing.T) {
	t.Run("rows after the newest checkpoint: the stream holds events the log lacks", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 6)
		e.checkpoint(t)
		e.publish(t, 4)
		if v := e.verify(t); !v.OK || v.Checked != 10 {
			t.Fatalf("intact log: %+v", v)
		}
		e.tamper(t, "DELETE FROM audit_log WHERE seq >= 8")
		wantBroken(t, e.verify(t), 8, "stream holds events up to stream seq 10 that the log lacks")
	})
	t.Run("rows back past the newest checkpoint: the log ends before it", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 6)
		e.checkpoint(t)
		e.publish(t, 4)
		e.tamper(t, "DELETE FROM audit_log WHERE seq >= 5")
		wantBroken(t, e.verify(t), 5, "log ends at seq 4 but checkpoint", "was signed at seq 6")
	})
	t.Run("a checkpointed row rewritten with a valid chain after it", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 3)
		e.checkpoint(t)
		e.tamper(t, "DELETE FROM audit_log WHERE seq = 3")
		e.publish(t, 1) // chained onto seq 2 as the new seq 3
		wantBroken(t, e.verify(t), 3, "does not match checkpoint")
	})
}

// TestVerifyHoldsTheLogToTheStream covers what the stream comparison must
// catch besides a deleted end, and what it must not mistake for one.
func TestVerifyHoldsTheLogToTheStream(t *testing.T) {
	t.Run("a remaining row's stream seq raised to hide a deleted end", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 5)
		e.tamper(t, "DELETE FROM audit_log WHERE seq >= 4", "UPDATE audit_log SET stream_seq = 5 WHERE seq = 3")
		wantBroken(t, e.verify(t), 4, "stream holds events up to stream seq 5 that the log lacks (first: stream seq 5")
	})
	t.Run("the whole log deleted", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 3)
		e.tamper(t, "DELETE FROM audit_log")
		wantBroken(t, e.verify(t), 1, "stream holds events up to stream seq 3 that the log lacks (first: stream seq 1")
	})
	t.Run("events published again and unreadable messages past the log's stream head are no alarm", func(t *testing.T) {
		e := newEnv(t)
		ev := testEvent()
		e.send(t, ev.ID, ev)
		e.publish(t, 2)
		e.send(t, uuid.NewString(), ev) // a relay's republish after the de-duplication window
		e.send(t, uuid.NewString(), map[string]any{"not": "an event"})
		e.waitConsumed(t)
		v := e.verify(t)
		if !v.OK || v.HeadSeq != 3 || v.Stream == nil || !v.Stream.Checked || v.Stream.ConsumedSeq != 5 || v.Stream.LoggedSeq != 3 {
			t.Fatalf("verify = %+v, stream %+v", v, v.Stream)
		}
	})
	t.Run("messages aged out of the stream are no alarm", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 4)
		s, err := e.js.Stream(context.Background(), audit.Stream)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Purge(context.Background()); err != nil {
			t.Fatal(err)
		}
		e.tamper(t, "DELETE FROM audit_log WHERE seq = 4") // no longer provable from the stream
		if v := e.verify(t); !v.OK || v.Stream == nil || v.Stream.FirstSeq != 5 || !strings.Contains(v.Stream.Note, "retention") {
			t.Fatalf("verify = %+v, stream %+v", v, v.Stream)
		}
	})
	t.Run("rows from before stream seqs were recorded are no alarm", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 3)
		e.tamper(t, "UPDATE audit_log SET stream_seq = NULL")
		if v := e.verify(t); !v.OK || v.Stream == nil || v.Stream.Checked || !strings.Contains(v.Stream.Note, "before this version") {
			t.Fatalf("verify = %+v, stream %+v", v, v.Stream)
		}
		e.publish(t, 1)
		if v := e.verify(t); !v.OK || !v.Stream.Checked || v.Stream.LoggedSeq != 4 {
			t.Fatalf("verify = %+v, stream %+v", v, v.Stream)
		}
	})
	t.Run("a recreated stream is no alarm", func(t *testing.T) {
		e := newEnv(t)
		e.publish(t, 3)
		ctx := context.Background()
		if err := e.js.DeleteStream(ctx, audit.Stream); err != nil {
			t.Fatal(err)
		}
		if err := outbox.EnsureStream(ctx, e.js, 1); err != nil {
			t.Fatal(err)
		}
		e.publish(t, 1) // the audit service recreates its consumer
		if v := e.verify(t); !v.OK || v.Stream == nil || !strings.Contains(v.Stream.Note, "recreated") {
			t.Fatalf("verify = %+v, stream %+v", v, v.Stream)
		}
		e.publish(t, 2) // the new stream reaches the old one's seqs: the newer row is the head
		if v := e.verify(t); !v.OK || v.Stream == nil || !v.Stream.Checked || v.Stream.LoggedSeq != 3 {
			t.Fatalf("verify = %+v, stream %+v", v, v.Stream)
		}
	})
}
