package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/audit/internal/chain"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
)

// setup returns an owner pool (superuser, as migrations run) and the store on
// a writer-role pool, on a fresh database.
func setup(t *testing.T) (*pgxpool.Pool, *Store) {
	t.Helper()
	ctx := context.Background()
	url := pgtest.New(t)
	owner, err := sqldb.Open(ctx, url, "audit", 4, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	files, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, owner, "audit", files); err != nil {
		t.Fatal(err)
	}
	writer, err := sqldb.Open(ctx, url, "audit", 4, 5*time.Second, sqldb.AsRole(WriterRole))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(writer.Close)
	return owner, NewStore(writer)
}

// events are n new entries, recording no stream seq.
func events(n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i].Event = audit.Event{ID: uuid.NewString(), At: time.Now(), Action: "test.action", Outcome: audit.Success,
			Actor:  audit.Actor{Type: "user", ID: fmt.Sprintf("u%d", i%3), Email: fmt.Sprintf("U%d@example.test", i%3)},
			Target: audit.Target{Type: "thing", ID: fmt.Sprintf("t%d", i)}, Service: "test", Version: "1",
			Details: map[string]any{"n": i, "name": "x\r\ny"}}
	}
	return out
}

func verify(t *testing.T, s *Store) audit.VerifyResponse {
	t.Helper()
	v := chain.NewVerifier()
	if err := s.Walk(context.Background(), func(r audit.Record) error { v.Add(r); return nil }); err != nil {
		t.Fatal(err)
	}
	return v.Result()
}

func TestAppend(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t)
	evs := events(25)
	t.Run("appends in order with a verifiable chain", func(t *testing.T) {
		n, err := s.Append(ctx, evs[:20])
		if err != nil || n != 20 {
			t.Fatalf("Append = %d, %v", n, err)
		}
		if got := verify(t, s); !got.OK || got.Checked != 20 {
			t.Fatalf("verify = %+v", got)
		}
	})
	t.Run("redelivered events are not appended twice", func(t *testing.T) {
		batch := append(append([]Entry{}, evs[15:]...), evs[22], evs[0])
		n, err := s.Append(ctx, batch)
		if err != nil || n != 5 {
			t.Fatalf("Append = %d, %v; want the 5 new ones", n, err)
		}
		seq, _, _ := s.Head(ctx)
		if seq != 25 {
			t.Fatalf("head seq = %d, want 25", seq)
		}
	})
	t.Run("queries filter and page newest first", func(t *testing.T) {
		page, err := s.Query(ctx, audit.QueryRequest{Actor: "u1@EXAMPLE.test", Limit: 3})
		if err != nil || len(page.Items) != 3 || !page.More {
			t.Fatalf("page = %+v, %v", page, err)
		}
		if page.Items[0].Seq < page.Items[1].Seq || page.Items[0].Actor.ID != "u1" {
			t.Fatalf("order or filter wrong: %+v", page.Items[:2])
		}
		next, err := s.Query(ctx, audit.QueryRequest{Actor: "u1", Limit: 50, BeforeSeq: page.Items[2].Seq})
		if err != nil || len(next.Items) != 5 || next.More {
			t.Fatalf("next page = %d items more=%v, %v", len(next.Items), next.More, err)
		}
		one, err := s.Query(ctx, audit.QueryRequest{Target: "t7", Limit: 10})
		if err != nil || len(one.Items) != 1 || strings.ContainsAny(one.Items[0].Details["name"].(string), "\r\n") {
			t.Fatalf("target query = %+v, %v", one, err)
		}
	})
}

func TestWriterRoleCannotChangeTheLog(t *testing.T) {
	ctx := context.Background()
	_, s := setup(t)
	if _, err := s.Append(ctx, events(3)); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"UPDATE audit_log SET action = 'x' WHERE seq = 1",
		"DELETE FROM audit_log WHERE seq = 1",
		"TRUNCATE audit_log",
		"ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update_delete",
		"ALTER TABLE audit_log DISABLE TRIGGER ALL",
		"SET session_replication_role = replica",
		"DROP TABLE audit_log",
		"DROP TRIGGER audit_log_no_truncate ON audit_log",
	} {
		t.Run(stmt+" is refused", func(t *testing.T) {
			if _, err := s.pool.Exec(ctx, stmt); err == nil {
				t.Fatalf("%s succeeded as the writer role", stmt)
			}
		})
	}
	if got := verify(t, s); !got.OK || got.Checked != 3 {
		t.Fatalf("log changed: %+v", got)
	}
}

func TestSuperuserTamperingIsFound(t *testing.T) {
	tests := []struct {
		name    string
		tamper  []string
		wantBad int64
	}{
		{"one changed byte", []string{"UPDATE audit_log SET actor_id = 'u9' WHERE seq = 4"}, 4},
		{"a deleted row", []string{"DELETE FROM audit_log WHERE seq = 6"}, 6},
		{"two swapped rows", []string{
			`UPDATE audit_log a SET target_id = b.target_id, details = b.details, at = b.at
			 FROM audit_log b WHERE (a.seq, b.seq) IN ((3, 7), (7, 3))`,
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			owner, s := setup(t)
			if _, err := s.Append(ctx, events(10)); err != nil {
				t.Fatal(err)
			}
			// A superuser can bypass the triggers; verification must still notice.
			tx, err := owner.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range tt.tamper {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			got := verify(t, s)
			if got.OK || got.FirstBadSeq != tt.wantBad {
				t.Fatalf("verify = %+v, want first bad seq %d", got, tt.wantBad)
			}
		})
	}
}
