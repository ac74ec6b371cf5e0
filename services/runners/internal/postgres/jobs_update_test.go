package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// tripConn counts round trips: a write after a read (or the first write)
// starts one.
type tripConn struct {
	net.Conn
	c *tripCounter
}

type tripCounter struct {
	mu      sync.Mutex
	trips   int
	writing bool
}

func (t tripConn) Write(p []byte) (int, error) {
	t.c.mu.Lock()
	if !t.c.writing {
		t.c.trips++
		t.c.writing = true
	}
	t.c.mu.Unlock()
	return t.Conn.Write(p)
}

func (t tripConn) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	t.c.mu.Lock()
	t.c.writing = false
	t.c.mu.Unlock()
	return n, err
}

// count returns the round trips fn takes.
func (t *tripCounter) count(fn func()) int {
	t.mu.Lock()
	t.trips, t.writing = 0, false
	t.mu.Unlock()
	fn()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.trips
}

// updateFixture is a migrated runners schema with one pending job, reached
// through a pool of one connection: a connection the store left in a
// transaction, or did not give back, stalls the next update.
type updateFixture struct {
	dbURL string
	pool  *pgxpool.Pool
	store JobStore
	trips *tripCounter
	jobID string
}

func newUpdateFixture(t *testing.T) *updateFixture {
	t.Helper()
	ctx := context.Background()
	f := &updateFixture{dbURL: pgtest.New(t), trips: &tripCounter{}, jobID: uuid.NewString()}
	pool, err := sqldb.Open(ctx, f.dbURL, "runners", 1, 5*time.Second, func(cfg *pgxpool.Config) {
		dialer := &net.Dialer{Timeout: 3 * time.Second}
		cfg.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return tripConn{Conn: c, c: f.trips}, nil
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	f.pool = pool
	files, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, pool, "runners", append(files, outbox.Migration(1000))); err != nil {
		t.Fatal(err)
	}
	f.store = NewStore(pool, outbox.Writer{Service: "runners"}).Jobs()
	f.createJob(t, f.jobID)
	return f
}

// createJob records a pending job with id in Development.
func (f *updateFixture) createJob(t *testing.T, id string) {
	t.Helper()
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	j := job.Job{ID: id, Package: job.Package{Name: "pkg", Version: "1.0.0", SHA256: "00", SizeBytes: 1},
		Environment: "Development", Labels: []string{}, Parameters: []byte("{}"), TimeoutSeconds: 60, MaxAttempts: 1,
		Status: job.StatusPending, Attempt: 1, CreatedBy: "test", CreatedAt: now}
	ev := audit.Event{At: now, Actor: audit.Actor{Type: "system", ID: "test"}, Action: "job.create",
		Target: audit.Target{Type: "job", ID: id}, Outcome: "success"}
	if err := f.store.CreateJob(context.Background(), j, ev); err != nil {
		t.Fatal(err)
	}
}

// assertRolledBack checks the job is still pending with its first lines
// lines, and that the connection (backend pid before) came back to the pool.
func (f *updateFixture) assertRolledBack(t *testing.T, pid int32, lines int) {
	t.Helper()
	j, err := f.store.JobByID(context.Background(), f.jobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != job.StatusPending || j.LogSeq != int64(lines) || f.logCount(t) != lines {
		t.Fatalf("after the failed update: status %s, log_seq %d, %d lines; want pending, %d, %d", j.Status, j.LogSeq, f.logCount(t), lines, lines)
	}
	if got := f.backendPID(t); got != pid {
		t.Fatalf("the rollback did not give the connection back (backend %d, then %d)", pid, got)
	}
}

// backendPID is the server process of the pool's connection: the same one
// before and after an update means the update gave the connection back.
func (f *updateFixture) backendPID(t *testing.T) int32 {
	t.Helper()
	var pid int32
	if err := f.pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// assertIdle checks the pool's one connection is back, outside a transaction.
func (f *updateFixture) assertIdle(t *testing.T) {
	t.Helper()
	if st := f.pool.Stat(); st.AcquiredConns() != 0 {
		t.Fatalf("%d connections still acquired after the update", st.AcquiredConns())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := f.pool.Acquire(ctx)
	if err != nil {
		t.Fatalf("acquire the pool's connection: %v", err)
	}
	defer conn.Release()
	if s := conn.Conn().PgConn().TxStatus(); s != 'I' {
		t.Fatalf("the pool's connection is in transaction status %q, want idle", s)
	}
}

// assertUnlocked checks, from a connection of its own, that no session holds
// the job's row or sits in a transaction.
func (f *updateFixture) assertUnlocked(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("%d sessions are idle in a transaction", n)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT 1 FROM runners.jobs WHERE id = $1 FOR UPDATE NOWAIT", f.jobID); err != nil {
		t.Fatalf("the job's row is still locked: %v", err)
	}
}

func (f *updateFixture) logCount(t *testing.T) int {
	t.Helper()
	var n int
	if err := f.pool.QueryRow(context.Background(), "SELECT count(*) FROM job_logs WHERE job_id = $1", f.jobID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// appendLines is an update writing the job's next n log lines.
func appendLines(n int) job.UpdateFunc {
	return func(j *job.Job) (job.Change, error) {
		var ch job.Change
		for range n {
			j.LogSeq++
			msg := fmt.Sprintf("line %d", j.LogSeq)
			j.LogBytes += int64(len(msg))
			ch.Lines = append(ch.Lines, job.LogLine{Seq: j.LogSeq, TS: time.Now(), Stream: "stdout", Message: msg})
		}
		return ch, nil
	}
}

func TestUpdateJobWritesTheJobAndItsLinesInTwoRoundTrips(t *testing.T) {
	f := newUpdateFixture(t)
	ctx := context.Background()
	pid := f.backendPID(t)
	const updates, lines = 50, 3
	for i := range updates {
		var err error
		trips := f.trips.count(func() { _, err = f.store.UpdateJob(ctx, f.jobID, appendLines(lines)) })
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		// The first update prepares its statements on the connection.
		if i > 0 && trips != 2 {
			t.Fatalf("update %d took %d round trips, want 2", i, trips)
		}
		if i == 1 {
			t.Logf("an update takes %d round trips", trips)
		}
	}
	j, err := f.store.JobByID(ctx, f.jobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.LogSeq != updates*lines || f.logCount(t) != updates*lines {
		t.Fatalf("log_seq %d and %d lines, want %d of both", j.LogSeq, f.logCount(t), updates*lines)
	}
	if got := f.backendPID(t); got != pid {
		t.Fatalf("the updates replaced the pool's connection (backend %d, then %d)", pid, got)
	}
	f.assertIdle(t)
	f.assertUnlocked(t)
}

func TestUpdateJobWritesNothingWhenAWriteFails(t *testing.T) {
	f := newUpdateFixture(t)
	ctx := context.Background()
	if _, err := f.store.UpdateJob(ctx, f.jobID, appendLines(2)); err != nil {
		t.Fatal(err)
	}
	pid := f.backendPID(t)
	// The job's row is written first, then a line whose seq is taken.
	_, err := f.store.UpdateJob(ctx, f.jobID, func(j *job.Job) (job.Change, error) {
		j.Status, j.LogSeq = job.StatusCanceled, 3
		return job.Change{Lines: []job.LogLine{{Seq: 2, TS: time.Now(), Stream: "stdout", Message: "again"}}}, nil
	})
	if err == nil || pgCode(err) != uniqueViolation {
		t.Fatalf("UpdateJob with a duplicate line: %v, want a unique violation", err)
	}
	f.assertRolledBack(t, pid, 2)
	f.assertIdle(t)
	f.assertUnlocked(t)
}

func TestUpdateJobRollsBackWhenFnFails(t *testing.T) {
	f := newUpdateFixture(t)
	ctx := context.Background()
	pid := f.backendPID(t)
	failed := errors.New("no such transition")
	for i := range 5 { // on a pool of one, a connection left in a transaction stalls the next round
		_, err := f.store.UpdateJob(ctx, f.jobID, func(j *job.Job) (job.Change, error) {
			ch, _ := appendLines(2)(j)
			j.Status = job.StatusCanceled
			return ch, failed
		})
		if err != failed {
			t.Fatalf("round %d: UpdateJob returned %v, want fn's error unchanged", i, err)
		}
		f.assertIdle(t)
	}
	f.assertRolledBack(t, pid, 0)
	f.assertUnlocked(t)
	if _, err := f.store.UpdateJob(ctx, f.jobID, appendLines(1)); err != nil {
		t.Fatalf("update after the failed ones: %v", err)
	}
	if f.logCount(t) != 1 {
		t.Fatalf("%d lines after the update, want 1", f.logCount(t))
	}
}

func TestUpdateJobOfAMissingJob(t *testing.T) {
	f := newUpdateFixture(t)
	called := false
	_, err := f.store.UpdateJob(context.Background(), uuid.NewString(), func(*job.Job) (job.Change, error) {
		called = true
		return job.Change{}, nil
	})
	if !errors.Is(err, errNoJob) || called {
		t.Fatalf("UpdateJob of a missing job: %v (fn called: %v), want errNoJob without calling fn", err, called)
	}
	f.assertIdle(t)
	f.assertUnlocked(t)
}

func TestUpdateJobCancelledLeavesNoTransaction(t *testing.T) {
	t.Run("between the lock and the writes", func(t *testing.T) {
		f := newUpdateFixture(t)
		pid := f.backendPID(t)
		ctx, cancel := context.WithCancel(context.Background())
		_, err := f.store.UpdateJob(ctx, f.jobID, func(j *job.Job) (job.Change, error) {
			cancel() // the caller gives up while holding the lock
			return appendLines(2)(j)
		})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("UpdateJob cancelled in fn: %v, want context.Canceled", err)
		}
		// The rollback ran on a context of its own: the connection went
		// back to the pool rather than being discarded.
		if got := f.backendPID(t); got != pid {
			t.Fatalf("the connection was replaced (backend %d, then %d): no rollback ran", pid, got)
		}
		f.assertIdle(t)
		f.assertUnlocked(t)
		if f.logCount(t) != 0 {
			t.Fatalf("%d lines written by a cancelled update", f.logCount(t))
		}
		if _, err := f.store.UpdateJob(context.Background(), f.jobID, appendLines(1)); err != nil {
			t.Fatalf("update after the cancelled one: %v", err)
		}
	})

	t.Run("while waiting for the lock", func(t *testing.T) {
		f := newUpdateFixture(t)
		bg := context.Background()
		holder, err := pgx.Connect(bg, f.dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer holder.Close(bg)
		tx, err := holder.Begin(bg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(bg, "SELECT 1 FROM runners.jobs WHERE id = $1 FOR UPDATE", f.jobID); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(bg, 300*time.Millisecond)
		defer cancel()
		called := false
		_, err = f.store.UpdateJob(ctx, f.jobID, func(j *job.Job) (job.Change, error) {
			called = true
			return appendLines(1)(j)
		})
		if err == nil || called {
			t.Fatalf("UpdateJob cancelled while the row is locked: %v (fn called: %v), want an error before fn", err, called)
		}
		if err := tx.Rollback(bg); err != nil {
			t.Fatal(err)
		}
		// A cancel during a round trip closes the connection (pgx's default
		// context handler sets a past deadline on it): the pool destroys it
		// in the background and the next update dials a new one. The
		// abandoned server session may take the lock for a moment before it
		// notices its client is gone; the next update waits for it and must
		// then go through on the pool's one connection.
		next, cancelNext := context.WithTimeout(bg, 10*time.Second)
		defer cancelNext()
		if _, err := f.store.UpdateJob(next, f.jobID, appendLines(1)); err != nil {
			t.Fatalf("update after the cancelled one: %v", err)
		}
		if f.logCount(t) != 1 {
			t.Fatalf("%d lines, want 1", f.logCount(t))
		}
		f.assertIdle(t)
		f.assertUnlocked(t)
	})
}
