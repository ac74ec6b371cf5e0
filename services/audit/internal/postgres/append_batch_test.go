package postgres

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// setupTB is setup for benchmarks too: a migrated fresh database and the
// store on a writer-role pool.
func setupTB(tb testing.TB) *Store {
	tb.Helper()
	ctx := context.Background()
	url := pgtest.New(tb)
	owner, err := sqldb.Open(ctx, url, "audit", 4, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(owner.Close)
	files, err := Migrations()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, owner, "audit", files); err != nil {
		tb.Fatal(err)
	}
	writer, err := sqldb.Open(ctx, url, "audit", 4, 5*time.Second, sqldb.AsRole(WriterRole))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(writer.Close)
	return NewStore(writer)
}

// cpuTime is the user+system CPU this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppend100 appends 100 new events per op on real PostgreSQL; the
// log grows by 100 rows per op. client-cpu-ns/op is this process's CPU only
// (the server's is not in it).
func BenchmarkAppend100(b *testing.B) {
	if os.Getenv(pgtest.EnvURL) == "" {
		b.Skip(pgtest.EnvURL + " is unset")
	}
	ctx := context.Background()
	s := setupTB(b)
	batches := make([][]Entry, b.N)
	for i := range batches {
		batches[i] = events(100)
		for j := range batches[i] {
			batches[i][j].StreamSeq = uint64(i*100 + j + 1)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for i := 0; i < b.N; i++ {
		n, err := s.Append(ctx, batches[i])
		if err != nil || n != 100 {
			b.Fatalf("Append = %d, %v", n, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "client-cpu-ns/op")
}

// mixed are n events, every fourth with its optional fields empty: no actor
// email, name, role or token id, no reason, source ip or request id, no
// details and no stream seq (NULL). The rest carry all of them.
func mixed(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		ev := audit.Event{ID: uuid.NewString(), At: time.Now().Add(time.Duration(i) * time.Millisecond), Action: "test.batch",
			Outcome: audit.Success, Actor: audit.Actor{Type: audit.ActorSystem, ID: "sys"},
			Target: audit.Target{Type: "thing", ID: fmt.Sprintf("t%d", i)}, Service: "test", Version: "1"}
		if i%4 != 0 {
			ev.Actor = audit.Actor{Type: audit.ActorUser, ID: fmt.Sprintf("u%d", i), Email: fmt.Sprintf("u%d@example.test", i),
				Name: "Ünï Cödé 'quoted' \"x\"", Role: "admin", TokenID: fmt.Sprintf("tok-%d", i)}
			ev.Outcome, ev.Reason = audit.Failure, "denied, {braces} and \\ backslash"
			ev.SourceIP, ev.RequestID = "10.0.0.1", uuid.NewString()
			ev.Details = map[string]any{"n": i, "list": []any{"a", nil, 1.5}, "nested": map[string]any{"k": "v,{}"}}
			out[i].StreamSeq = uint64(1000 + i)
		}
		out[i].Event = ev
	}
	return out
}

// stored reads every row in seq order, with its stream seq.
func stored(t *testing.T, s *Store) ([]audit.Record, []*int64) {
	t.Helper()
	ctx := context.Background()
	rows, err := s.pool.Query(ctx, "SELECT "+columns+" FROM audit_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		t.Fatal(err)
	}
	rows, err = s.pool.Query(ctx, "SELECT stream_seq FROM audit_log ORDER BY seq")
	if err != nil {
		t.Fatal(err)
	}
	streams, err := pgx.CollectRows(rows, pgx.RowTo[*int64])
	if err != nil {
		t.Fatal(err)
	}
	return recs, streams
}

func TestAppendBatchStoresEveryColumn(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t)
	in := mixed(200)
	n, err := s.Append(ctx, in)
	if err != nil || n != 200 {
		t.Fatalf("Append = %d, %v", n, err)
	}
	recs, streams := stored(t, s)
	if len(recs) != 200 {
		t.Fatalf("%d rows stored, want 200", len(recs))
	}
	prev := audit.GenesisHash
	for i, got := range recs {
		want, err := audit.Normalize(in[i].Event)
		if err != nil {
			t.Fatal(err)
		}
		if got.Seq != int64(i+1) || got.PrevHash != prev {
			t.Fatalf("row %d: seq %d prev %q, want seq %d prev %q", i, got.Seq, got.PrevHash, i+1, prev)
		}
		if wantHash, _ := audit.ChainHash(prev, want); got.Hash != wantHash {
			t.Fatalf("row %d: hash %q, want %q", i, got.Hash, wantHash)
		}
		prev = got.Hash
		if !got.At.Equal(want.At) {
			t.Fatalf("row %d: at %v, want %v", i, got.At, want.At)
		}
		got.At = want.At
		if !reflect.DeepEqual(got.Event, want) {
			t.Fatalf("row %d:\n got %+v\nwant %+v", i, got.Event, want)
		}
		switch {
		case in[i].StreamSeq == 0 && streams[i] != nil:
			t.Fatalf("row %d: stream seq %d, want NULL", i, *streams[i])
		case in[i].StreamSeq != 0 && (streams[i] == nil || uint64(*streams[i]) != in[i].StreamSeq):
			t.Fatalf("row %d: stream seq %v, want %d", i, streams[i], in[i].StreamSeq)
		}
	}
	if recs[0].Actor.Email != "" || recs[0].Actor.TokenID != "" || len(recs[0].Details) != 0 || streams[0] != nil {
		t.Fatalf("row 0 should have its optional fields empty: %+v", recs[0])
	}
	if got := verify(t, s); !got.OK || got.Checked != 200 {
		t.Fatalf("verify = %+v", got)
	}
}

func TestAppendBatchSkipsLoggedEvents(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t)
	first := mixed(10)
	if n, err := s.Append(ctx, first); err != nil || n != 10 {
		t.Fatalf("Append = %d, %v", n, err)
	}
	fresh := mixed(20)
	upper := first[3]
	upper.ID = strings.ToUpper(upper.ID)
	// Already logged (once in upper case), and a repeat within the batch.
	batch := append(append(append([]Entry{}, fresh[:10]...), first[7], upper, fresh[4]), fresh[10:]...)
	n, err := s.Append(ctx, batch)
	if err != nil || n != 20 {
		t.Fatalf("Append = %d, %v; want the 20 new ones", n, err)
	}
	recs, _ := stored(t, s)
	if len(recs) != 30 {
		t.Fatalf("%d rows stored, want 30", len(recs))
	}
	for i, e := range append(first, fresh...) {
		if recs[i].ID != e.ID || recs[i].Seq != int64(i+1) {
			t.Fatalf("row %d: seq %d id %s, want seq %d id %s", i, recs[i].Seq, recs[i].ID, i+1, e.ID)
		}
	}
	if got := verify(t, s); !got.OK || got.Checked != 30 {
		t.Fatalf("verify = %+v", got)
	}
}

// insert must refuse a statement that skips any row: a skipped row would
// leave a gap in the chain. unseen keeps this from happening in Append, so
// the test calls insert with a logged event directly.
func TestInsertShortfallAbortsTheTransaction(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t)
	logged := mixed(1)
	if _, err := s.Append(ctx, logged); err != nil {
		t.Fatal(err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		ev := mixed(1)[0].Event
		dup := logged[0].Event
		return insert(ctx, tx, []row{
			{seq: 2, ev: ev, details: "{}", prev: "p", hash: "h2"},
			{seq: 3, ev: dup, details: "{}", prev: "h2", hash: "h3"},
		})
	})
	if err == nil || !strings.Contains(err.Error(), "appeared twice under the chain lock") {
		t.Fatalf("insert with a logged event = %v, want the shortfall error", err)
	}
	if seq, _, _ := s.Head(ctx); seq != 1 {
		t.Fatalf("head seq = %d after the refused insert, want 1 (nothing kept)", seq)
	}
}
