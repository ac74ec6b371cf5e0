package natsapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/natsapi"
)

func TestFlushAllLosesNoJob(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	regs := h.runnerFleet(t, 10)
	ids := h.createMany(t, 200)
	if err := h.rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if c, err := h.claim(regs[0], 0); c != nil || err != nil {
		t.Fatalf("claim after FLUSHALL = %+v, %v", c, err)
	}
	t.Run("the reconcile queues every pending job again, once", func(t *testing.T) {
		if n := must[int](t)(h.jobs.Reconcile(t.Context())); n != 200 {
			t.Fatalf("queued %d again", n)
		}
		if n := must[int](t)(h.jobs.Reconcile(t.Context())); n != 0 {
			t.Fatalf("a second reconcile queued %d", n)
		}
	})
	t.Run("every job is claimed exactly once", func(t *testing.T) {
		wantEachOnce(t, ids, h.claimAll(t, regs))
	})
	t.Run("the watcher still wakes waiting claims", func(t *testing.T) {
		done := make(chan *runners.ClaimedJob, 1)
		go func() {
			c, err := h.claim(regs[0], 10)
			if err != nil {
				t.Error(err)
			}
			done <- c
		}()
		time.Sleep(100 * time.Millisecond)
		j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		select {
		case c := <-done:
			if c == nil || c.ID != j.ID {
				t.Fatalf("claimed %+v", c)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("the waiting claim was not woken")
		}
	})
}

// claimedMeanwhile runs meanwhile (when set) after each read of pending
// jobs, as a claim committing between the reconcile's read and its look at
// the queue would.
type claimedMeanwhile struct {
	job.Store
	meanwhile *func()
}

func (s claimedMeanwhile) PendingEntries(ctx context.Context, after job.Cursor, limit int) ([]job.Entry, error) {
	es, err := s.Store.PendingEntries(ctx, after, limit)
	if f := *s.meanwhile; f != nil {
		f()
	}
	return es, err
}

// A job claimed after the reconcile read it as pending is not queued again:
// its stale entry would send the next claims to a job already taken.
func TestReconcileQueuesNoJobClaimedMeanwhile(t *testing.T) {
	var meanwhile func()
	h := newJobsHarness(t, func(d *job.Deps) { d.Store = claimedMeanwhile{Store: d.Store, meanwhile: &meanwhile} })
	h.publish(t, "etl", "1.0.0", time.Now())
	a, b := h.register(t, "a", runners.EnvStaging), h.register(t, "b", runners.EnvStaging)
	taken := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	lost := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	if err := h.jobs.Queue.Remove(t.Context(), lost.Environment, lost.ID); err != nil { // a crash between commit and queueing
		t.Fatal(err)
	}
	meanwhile = func() {
		meanwhile = nil
		if c, err := h.claim(a, 0); err != nil || c == nil || c.ID != taken.ID {
			t.Errorf("claim while reconciling = %+v, %v; want job %s", c, err, taken.ID)
		}
	}
	if n := must[int](t)(h.jobs.Reconcile(t.Context())); n != 1 {
		t.Fatalf("queued %d again, want 1 (the job lost from the queue)", n)
	}
	if c, err := h.claim(b, 0); err != nil || c == nil || c.ID != lost.ID {
		t.Fatalf("next claim = %+v, %v; want the lost job %s", c, err, lost.ID)
	}
	if stale := must[[]string](t)(h.jobs.Queue.Missing(t.Context(), []string{taken.ID})); len(stale) != 1 {
		t.Fatalf("the claimed job %s is queued again", taken.ID)
	}
}

// A flush is noticed within a reap interval, not left to the periodic
// reconcile: a runner waiting in a claim gets a job queued before it.
func TestFlushNoticedByMaintenance(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); h.jobs.RunMaintenance(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	time.Sleep(100 * time.Millisecond) // the start-up reconcile is behind us
	if err := h.rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := h.claim(a, 10)
	if err != nil || c == nil || c.ID != j.ID {
		t.Fatalf("claim after FLUSHALL = %+v, %v", c, err)
	}
	if took := time.Since(start); took > job.ReapInterval+2*time.Second {
		t.Fatalf("the flushed job came back after %s", took)
	}
}

func TestLogs(t *testing.T) {
	h := newJobsHarness(t, func(d *job.Deps) { d.LogCap = 100 })
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	c := h.mustClaim(t, a)
	read := func(t *testing.T, after int64) []runners.LogLine {
		t.Helper()
		return must[runners.JobLogs](t)(call[runners.JobLogs](as(operator), h.harness, runners.SubjectJobLogs,
			runners.JobLogsRequest{ID: j.ID, After: after})).Lines
	}
	for batch := range 3 {
		if _, err := h.upload(a, j.ID, c.Attempt, fmt.Sprintf("line %d.1", batch), fmt.Sprintf("line %d.2", batch)); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("lines keep their order with sequence numbers from 1", func(t *testing.T) {
		lines := read(t, 0)
		if len(lines) != 6 || lines[0].Seq != 1 || lines[5].Seq != 6 || lines[2].Message != "line 1.1" || lines[5].Stream != "stdout" {
			t.Fatalf("lines %+v", lines)
		}
		if after := read(t, 4); len(after) != 2 || after[0].Seq != 5 {
			t.Fatalf("after 4: %+v", after)
		}
	})
	t.Run("past the cap one [log truncated] line ends the log and later lines are dropped", func(t *testing.T) {
		for range 2 {
			if _, err := h.upload(a, j.ID, c.Attempt, strings.Repeat("x", 40), strings.Repeat("y", 40)); err != nil {
				t.Fatal(err)
			}
		}
		lines := read(t, 6)
		if len(lines) != 2 || lines[0].Message != strings.Repeat("x", 40) || lines[1].Message != job.Truncated || lines[1].Seq != 8 {
			t.Fatalf("lines %+v", lines)
		}
	})
	t.Run("a stream other than stdout or stderr is refused", func(t *testing.T) {
		req := runners.AgentLogsRequest{AgentRequest: agent(a), JobID: j.ID,
			Lines: []runners.AgentLogLine{{Stream: "stdin", Message: "x"}}}
		_, err := call[runners.AgentLogsResponse](gateway(sourceIP), h.harness, runners.SubjectLogs, req)
		wantKind(t, err, "invalid_argument")
	})
}

func TestPendingReason(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Labels: []string{"gpu"}})
	reason := func(t *testing.T, want string) {
		t.Helper()
		if got := h.getJob(t, j.ID); got.PendingReason != want {
			t.Fatalf("pending_reason %q, want %q", got.PendingReason, want)
		}
	}
	h.register(t, "plain", runners.EnvStaging)
	h.register(t, "prod-gpu", runners.EnvProduction, "gpu")
	t.Run("no runner of the environment has the labels", func(t *testing.T) { reason(t, runners.PendingNoRunner) })
	gpu := h.register(t, "gpu", runners.EnvStaging, "gpu")
	t.Run("the runner that could has never connected", func(t *testing.T) { reason(t, runners.PendingNoneOnline) })
	h.beatWith(t, gpu, "7d3f9c1e-0000-4000-8000-00000000beef")
	t.Run("the runner that could is busy", func(t *testing.T) { reason(t, runners.PendingAllBusy) })
	h.beatWith(t, gpu)
	t.Run("the runner that could is idle", func(t *testing.T) { reason(t, runners.PendingQueued) })
	t.Run("the license has expired", func(t *testing.T) {
		h.license(0)
		defer h.license(100)
		h.clock.Advance(natsapi.JobCheckTTL) // the create's passed check no longer stands
		reason(t, runners.PendingLicenseExpired)
	})
	h.clock.Advance(time.Hour)
	t.Run("the runner that could went offline", func(t *testing.T) { reason(t, runners.PendingNoneOnline) })
}

// Redis lost, with it the note of a claim that took its job up: a repeat of
// the claim (its answer lost too) takes no other job meanwhile, and once
// the maintenance notes the claims again from PostgreSQL, it hands over
// the job the claim took, which would otherwise wait out its lease and
// spend an attempt.
func TestARepeatedClaimFindsItsJobAfterRedisLostTheNotes(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	taken := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	resp, err := h.claimStart(a, "lost-answer", true)
	if err != nil || resp.Job == nil || resp.Job.ID != taken.ID {
		t.Fatalf("claim = %+v, %v", resp.Job, err)
	}
	if err := h.rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	later := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging}) // queued after the loss
	repeat := make(chan runners.ClaimResponse, 1)
	go func() {
		r, err := h.sendClaim(a, runners.ClaimRequest{WaitSeconds: 10, ClaimID: "lost-answer", Start: true})
		if err != nil {
			t.Error(err)
		}
		repeat <- r
	}()
	time.Sleep(300 * time.Millisecond)
	if status, _ := h.status(t, later.ID); status != runners.JobPending {
		t.Fatalf("the repeat took a job queued after the loss: %s is %s", later.ID, status)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); h.jobs.RunMaintenance(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case r := <-repeat:
		if r.Job == nil || r.Job.ID != taken.ID || r.Job.Attempt != 1 {
			t.Fatalf("the repeat got %+v, want the job its claim took, %s", r.Job, taken.ID)
		}
	case <-time.After(job.ReapInterval + 5*time.Second):
		t.Fatal("the repeat got nothing after the maintenance restored the notes")
	}
	if status, attempt := h.status(t, later.ID); status != runners.JobPending || attempt != 1 {
		t.Fatalf("the job queued after the loss is %s at attempt %d", status, attempt)
	}
}
