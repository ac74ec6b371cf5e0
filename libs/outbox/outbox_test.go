package outbox_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestWriterAppendAndQueueWriteTheSameRow: an event written at once and one
// queued in a batch are completed from the context alike, and a queued one
// is written only if its batch's transaction commits.
func TestWriterAppendAndQueueWriteTheSameRow(t *testing.T) {
	ctx := caller.With(context.Background(), caller.Info{RequestID: "req-1", SourceIP: "10.0.0.7",
		Actor: caller.Actor{Type: "user", ID: "u-1", Role: "ADMIN", Email: "ada@example.com"}})
	pool := pgtest.Pool(t, "svc")
	if _, err := migrate.Apply(ctx, pool, "svc", []migrate.File{outbox.Migration(1000)}); err != nil {
		t.Fatal(err)
	}
	w := outbox.Writer{Service: "svc"}
	ev := audit.Event{Action: "job.create", Target: audit.Target{Type: "job", ID: "j-1"}}
	var appended, queued audit.Event
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var err error
		if appended, err = w.Append(ctx, tx, ev); err != nil {
			return err
		}
		b := &pgx.Batch{}
		if queued, err = w.Queue(ctx, b, ev); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, "SELECT payload FROM audit_outbox ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	stored, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil || len(stored) != 2 {
		t.Fatalf("%d rows, %v", len(stored), err)
	}
	for i, want := range []audit.Event{appended, queued} {
		var got audit.Event
		if err := json.Unmarshal(stored[i], &got); err != nil {
			t.Fatal(err)
		}
		if got.ID != want.ID || got.ID == "" || got.Actor.ID != "u-1" || got.RequestID != "req-1" ||
			got.SourceIP != "10.0.0.7" || got.Service != "svc" || got.Action != "job.create" {
			t.Fatalf("row %d = %+v, want %+v", i, got, want)
		}
	}
	if appended.ID == queued.ID {
		t.Fatal("two events share an id")
	}

	t.Run("a queued event of a rolled-back transaction is not written", func(t *testing.T) {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b := &pgx.Batch{}
		if _, err := w.Queue(ctx, b, ev); err != nil {
			t.Fatal(err)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			t.Fatal(err)
		}
		tx.Rollback(ctx)
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_outbox").Scan(&n); err != nil || n != 2 {
			t.Fatalf("%d rows after a rollback, want 2 (%v)", n, err)
		}
	})
	t.Run("an invalid event is refused before it is queued", func(t *testing.T) {
		b := &pgx.Batch{}
		bad := ev
		bad.Details = map[string]any{"x": make(chan int)} // not JSON
		if _, err := w.Queue(ctx, b, bad); err == nil || b.Len() != 0 {
			t.Fatalf("Queue of an event whose details are not JSON: err %v, %d queued", err, b.Len())
		}
	})
}
