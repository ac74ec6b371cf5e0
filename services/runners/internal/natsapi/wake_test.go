package natsapi_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
)

// countingQueue counts the looks into the queue.
type countingQueue struct {
	job.Queue
	takes atomic.Int64
}

func (q *countingQueue) Take(ctx context.Context, environment, runnerID string, labels []string, note job.Note) (job.Taken, error) {
	q.takes.Add(1)
	return q.Queue.Take(ctx, environment, runnerID, labels, note)
}

// TestAJobWakesOneWaitingClaim: with many claims waiting, a job wakes one
// of them, not all (each woken claim looks into Redis); a job for one
// runner still reaches it at once, however far back in line it waits; and
// a job nobody can run wakes each waiting claim once, then rests.
func TestAJobWakesOneWaitingClaim(t *testing.T) {
	var q *countingQueue
	h := newJobsHarness(t, func(d *job.Deps) {
		q = &countingQueue{Queue: d.Queue}
		d.Queue = q
		d.Recheck = time.Minute // only wake-ups, no periodic looks
	})
	h.publish(t, "etl", "1.0.0", time.Now())
	const n = 20
	regs := h.runnerFleet(t, n)
	got := make(chan [2]string, 4*n)
	stop := make(chan struct{})
	wg := h.claimUntil(t, regs, 30, stop, got) // no claim ends by itself while measured
	defer func() {
		close(stop)
		for range n { // one job each ends the waits
			h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		}
		wg.Wait()
	}()
	settle := func() int64 {
		time.Sleep(300 * time.Millisecond) // every claim waiting again
		return q.takes.Load()
	}
	receive := func(t *testing.T, jobID string) string {
		t.Helper()
		select {
		case g := <-got:
			if g[1] != jobID {
				t.Fatalf("claimed %s, created %s", g[1], jobID)
			}
			return g[0]
		case <-time.After(time.Second):
			t.Fatal("the job was not handed over within 1 s")
		}
		return ""
	}

	t.Run("a job for anyone wakes one claim", func(t *testing.T) {
		for range 5 {
			before := settle()
			j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
			receive(t, j.ID)
			if looks := settle() - before; looks > 3 {
				t.Fatalf("one job cost %d looks into the queue with %d claims waiting", looks, n)
			}
		}
	})
	t.Run("a job for the last in line reaches it", func(t *testing.T) {
		for _, target := range []int{n - 1, n / 2} {
			settle()
			id := regs[target].Runner.ID
			j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, RunnerID: id})
			if who := receive(t, j.ID); who != id {
				t.Fatalf("runner %s got the job for %s", who, id)
			}
		}
	})
	t.Run("a job nobody can run wakes each claim once, then rests", func(t *testing.T) {
		before := settle()
		h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Labels: []string{"gpu"}})
		woken := settle() - before
		if woken < n/2 || woken > 2*n {
			t.Fatalf("a job nobody can run cost %d looks with %d claims waiting, want about %d", woken, n, n)
		}
		if more := settle() - before - woken; more > 0 {
			t.Fatalf("%d more looks after the wake-up ended: it goes round and round", more)
		}
	})
}
