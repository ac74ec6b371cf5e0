package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/job"
)

func (h *jobsHarness) reap(t testing.TB) int {
	t.Helper()
	return must[int](t)(h.jobs.Reap(t.Context()))
}

func TestLeaseExpiryRetriesThenRunnerLost(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a, b := h.register(t, "a", runners.EnvStaging), h.register(t, "b", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, MaxAttempts: 2})
	first := h.mustClaim(t, a)
	t.Run("the first log upload makes the job running", func(t *testing.T) {
		if _, err := h.upload(a, j.ID, first.Attempt, "hello"); err != nil {
			t.Fatal(err)
		}
		if got := h.getJob(t, j.ID); got.Status != runners.JobRunning || got.StartedAt == nil {
			t.Fatalf("job %+v", got)
		}
	})
	t.Run("heartbeats naming the job keep its lease", func(t *testing.T) {
		for range 3 {
			h.clock.Advance(40 * time.Second)
			h.beatWith(t, a, j.ID)
			if n := h.reap(t); n != 0 {
				t.Fatalf("reaped %d", n)
			}
		}
	})
	t.Run("an expired lease puts the job back to pending at the next attempt", func(t *testing.T) {
		h.clock.Advance(61 * time.Second)
		if n := h.reap(t); n != 1 {
			t.Fatalf("reaped %d", n)
		}
		if st, attempt := h.status(t, j.ID); st != runners.JobPending || attempt != 2 {
			t.Fatalf("%s at attempt %d", st, attempt)
		}
	})
	t.Run("the lost runner's late reports are stale", func(t *testing.T) {
		wantKind(t, h.complete(a, j.ID, first.Attempt, runners.JobSucceeded), errs.Conflict)
		_, err := h.upload(a, j.ID, first.Attempt, "late")
		wantKind(t, err, errs.Conflict)
	})
	second := h.mustClaim(t, b)
	t.Run("another runner claims it at attempt 2", func(t *testing.T) {
		if second.ID != j.ID || second.Attempt != 2 {
			t.Fatalf("claimed %+v", second)
		}
		wantKind(t, h.complete(a, j.ID, 0, runners.JobSucceeded), errs.PermissionDenied)
	})
	t.Run("after max_attempts a lost runner fails the job with runner_lost", func(t *testing.T) {
		if _, err := h.upload(b, j.ID, second.Attempt, "started"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(61 * time.Second)
		if n := h.reap(t); n != 1 {
			t.Fatalf("reaped %d", n)
		}
		got := h.getJob(t, j.ID)
		if got.Status != runners.JobFailed || got.Error == nil || *got.Error != runners.JobErrorRunnerLost || got.Attempts != 2 {
			t.Fatalf("job %+v", got)
		}
		if c, err := h.claim(a, 0); c != nil || err != nil {
			t.Fatalf("claim = %+v, %v", c, err)
		}
	})
}

// A claim its runner never takes up (it died waiting in the long poll, or
// the reply was lost for good) goes back to pending after the pickup time
// without spending an attempt; the claim's late word is stale.
func TestUnstartedClaimCostsNoAttempt(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a, b := h.register(t, "a", runners.EnvStaging), h.register(t, "b", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	lost := h.mustClaim(t, a)
	t.Run("it is claimed only for the pickup time", func(t *testing.T) {
		h.clock.Advance(job.DefaultPickup - time.Second)
		if n := h.reap(t); n != 0 {
			t.Fatalf("reaped %d before the pickup time", n)
		}
		h.clock.Advance(2 * time.Second)
		if n := h.reap(t); n != 1 {
			t.Fatalf("reaped %d", n)
		}
		got := h.getJob(t, j.ID)
		if got.Status != runners.JobPending || got.Attempts != 0 || got.MaxAttempts != 1 {
			t.Fatalf("job %+v", got)
		}
	})
	t.Run("the vanished claim's late word is stale", func(t *testing.T) {
		_, err := h.upload(a, j.ID, lost.Attempt)
		wantKind(t, err, errs.Conflict)
	})
	t.Run("another runner gets it, at the next fencing number, and runs it", func(t *testing.T) {
		c := h.mustClaim(t, b)
		if c.ID != j.ID || c.Attempt != lost.Attempt+1 {
			t.Fatalf("claimed %+v", c)
		}
		if _, err := h.upload(b, j.ID, c.Attempt); err != nil { // an empty upload takes the job up
			t.Fatal(err)
		}
		if err := h.complete(b, j.ID, c.Attempt, runners.JobSucceeded); err != nil {
			t.Fatal(err)
		}
		if got := h.getJob(t, j.ID); got.Status != runners.JobSucceeded || got.Attempts != 1 {
			t.Fatalf("job %+v", got)
		}
	})
	t.Run("a job nobody ever takes up fails with runner_lost in the end", func(t *testing.T) {
		k := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		for range job.MaxUnstartedClaims + 1 {
			h.mustClaim(t, a)
			h.clock.Advance(job.DefaultPickup + time.Second)
			h.reap(t)
		}
		got := h.getJob(t, k.ID)
		if got.Status != runners.JobFailed || got.Error == nil || *got.Error != runners.JobErrorRunnerLost {
			t.Fatalf("job %+v", got)
		}
	})
}

func TestCompleteIsIdempotentPerAttempt(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a, b := h.register(t, "a", runners.EnvStaging), h.register(t, "b", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	c := h.mustClaim(t, a)
	t.Run("a runner that does not hold the job may not complete it", func(t *testing.T) {
		wantKind(t, h.complete(b, j.ID, c.Attempt, runners.JobSucceeded), errs.PermissionDenied)
	})
	t.Run("complete, then the same complete again, succeed", func(t *testing.T) {
		for range 2 {
			if err := h.complete(a, j.ID, c.Attempt, runners.JobSucceeded); err != nil {
				t.Fatal(err)
			}
		}
		got := h.getJob(t, j.ID)
		if got.Status != runners.JobSucceeded || got.ExitCode == nil || *got.ExitCode != 0 || got.FinishedAt == nil {
			t.Fatalf("job %+v", got)
		}
	})
	t.Run("a stale attempt is a conflict", func(t *testing.T) {
		wantKind(t, h.complete(a, j.ID, c.Attempt+1, runners.JobFailed), errs.Conflict)
		_, err := h.upload(a, j.ID, c.Attempt, "after the end")
		wantKind(t, err, errs.Conflict)
	})
	t.Run("one job.finish event is recorded, by the runner", func(t *testing.T) {
		var finishes int
		for _, ev := range h.events(t) {
			if ev.Action == "job.finish" {
				finishes++
				if ev.Actor.Type != "runner" || ev.Actor.ID != a.Runner.ID {
					t.Fatalf("actor %+v", ev.Actor)
				}
			}
		}
		if finishes != 1 {
			t.Fatalf("%d job.finish events", finishes)
		}
	})
}

func TestCancelRunningJob(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	h.mustClaim(t, a)
	if reply := h.beatWith(t, a, j.ID); len(reply.CancelJobIDs) != 0 {
		t.Fatalf("reply %+v", reply)
	}
	if st, _ := h.status(t, j.ID); st != runners.JobRunning {
		t.Fatalf("a heartbeat naming the claimed job left it %s", st)
	}
	got := must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobCancel, runners.JobRequest{ID: j.ID}))
	if got.Status != runners.JobRunning || !got.CancelRequested {
		t.Fatalf("job %+v", got)
	}
	t.Run("the runner hears it in its next heartbeat reply and log upload", func(t *testing.T) {
		if reply := h.beatWith(t, a, j.ID); len(reply.CancelJobIDs) != 1 || reply.CancelJobIDs[0] != j.ID {
			t.Fatalf("reply %+v", reply)
		}
		if resp, err := h.upload(a, j.ID, 0, "stopping"); err != nil || !resp.CancelRequested {
			t.Fatalf("upload = %+v, %v", resp, err)
		}
	})
	t.Run("it reports canceled", func(t *testing.T) {
		if err := h.complete(a, j.ID, 0, runners.JobCanceled); err != nil {
			t.Fatal(err)
		}
		if st, _ := h.status(t, j.ID); st != runners.JobCanceled {
			t.Fatalf("status %s", st)
		}
	})
}

func TestTimeoutFailsTheJob(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, TimeoutSeconds: 30, MaxAttempts: 3})
	h.mustClaim(t, a)
	h.clock.Advance(20 * time.Second)
	h.beatWith(t, a, j.ID)
	h.clock.Advance(11 * time.Second)
	if n := h.reap(t); n != 1 {
		t.Fatalf("reaped %d", n)
	}
	got := h.getJob(t, j.ID)
	if got.Status != runners.JobFailed || got.Error == nil || *got.Error != runners.JobErrorTimeout {
		t.Fatalf("job %+v", got)
	}
}
