package natsapi_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
)

// claimStart claims under claimID as reg, the claim taking its job up.
func (h *jobsHarness) claimStart(reg runners.Registered, claimID string, first bool) (runners.ClaimResponse, error) {
	return h.sendClaim(reg, runners.ClaimRequest{ClaimID: claimID, First: first, Start: true})
}

// release gives back the job of resp, a claim of reg's, as the gateway does
// when the claim's runner has gone before the answer.
func (h *jobsHarness) release(reg runners.Registered, resp runners.ClaimResponse) (bool, error) {
	r, err := call[runners.ReleaseResponse](gateway(sourceIP), h.harness, runners.SubjectRelease,
		runners.ReleaseRequest{AgentRequest: agent(reg), JobID: resp.Job.ID, Attempt: resp.Job.Attempt, Lease: resp.Lease})
	return r.Released, err
}

// A claim that takes its job up (Exekra-Claim-Start) hands over a running
// job with the running lease, its attempt running from the claim; a repeat
// of that claim hands it over again.
func TestClaimThatTakesTheJobUp(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	now := h.clock.Now()
	resp, err := h.claimStart(a, "start-1", true)
	got := resp.Job
	if err != nil || got == nil || got.ID != j.ID || got.Attempt != 1 {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	t.Run("the job comes back running, with the running lease", func(t *testing.T) {
		if !got.TakenUp() || got.Status != runners.JobRunning {
			t.Fatalf("status %q, want running", got.Status)
		}
		if lease := got.LeaseExpiresAt.Sub(now); lease < job.DefaultLease-time.Second || lease > job.DefaultLease+time.Second {
			t.Fatalf("lease ends %v after the claim, want the running lease %v", lease, job.DefaultLease)
		}
		if !resp.Lease.Equal(got.LeaseExpiresAt) {
			t.Fatalf("the answer's lease %v is not the job's %v", resp.Lease, got.LeaseExpiresAt)
		}
		stored := h.getJob(t, j.ID)
		if stored.Status != runners.JobRunning || stored.StartedAt == nil || stored.RunnerID == nil || *stored.RunnerID != a.Runner.ID {
			t.Fatalf("stored job %+v", stored)
		}
		hist := h.history(t, j.ID)
		if len(hist) != 1 || hist[0].RunningAt == nil || !hist[0].RunningAt.Equal(hist[0].StartedAt) {
			t.Fatalf("attempt history %+v: want running from the claim", hist)
		}
	})
	t.Run("a repeat of the claim hands it over again", func(t *testing.T) {
		again, err := h.claimStart(a, "start-1", false)
		if err != nil || again.Job == nil || again.Job.ID != j.ID || again.Job.Attempt != 1 || !again.Job.TakenUp() {
			t.Fatalf("repeated claim = %+v, %v", again.Job, err)
		}
	})
	t.Run("a repeat without the header does not: the job is taken up", func(t *testing.T) {
		if again, err := h.claimAs(a, 0, "start-1"); again != nil || err != nil {
			t.Fatalf("repeated claim without start = %+v, %v", again, err)
		}
	})
}

// A claim whose answer never reached its runner (the gateway saw the
// runner's connection close first) is released: its job goes back to
// pending at once, without spending an attempt, and another runner gets
// it. A release that comes after the runner heard of the job (a repeat of
// the claim), or from another runner, changes nothing.
func TestReleaseOfAnUndeliveredClaim(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	b := h.register(t, "b", runners.EnvStaging)
	claim := func(t *testing.T, claimID string, start bool) (runners.Job, runners.ClaimResponse) {
		t.Helper()
		j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		resp, err := h.sendClaim(a, runners.ClaimRequest{ClaimID: claimID, First: true, Start: start})
		if err != nil || resp.Job == nil || resp.Job.ID != j.ID || resp.Lease.IsZero() {
			t.Fatalf("claim = %+v, %v", resp, err)
		}
		return j, resp
	}
	for _, start := range []bool{true, false} {
		name := map[bool]string{true: "a claim that took its job up", false: "a plain claim"}[start]
		t.Run(name+": the job goes to another runner, no attempt spent", func(t *testing.T) {
			j, resp := claim(t, fmt.Sprintf("gone-%v", start), start)
			if released, err := h.release(a, resp); err != nil || !released {
				t.Fatalf("release = %v, %v", released, err)
			}
			if s, attempt := h.status(t, j.ID); s != runners.JobPending || attempt != 2 {
				t.Fatalf("released job %s at attempt %d, want pending at 2", s, attempt)
			}
			got, err := h.claim(b, 0)
			if err != nil || got == nil || got.ID != j.ID || got.Attempt != 2 {
				t.Fatalf("b's claim = %+v, %v", got, err)
			}
			stored := h.getJob(t, j.ID)
			if stored.Attempts != 1 {
				t.Fatalf("attempts %d, want 1: the released claim is none", stored.Attempts)
			}
			hist := h.history(t, j.ID)
			if len(hist) != 2 || hist[0].Outcome != runners.AttemptNotStarted || hist[0].EndedAt == nil || hist[0].Reason == "" {
				t.Fatalf("attempt history %+v: want the first ended not_started", hist)
			}
			if released, err := h.release(a, resp); err != nil || released {
				t.Fatalf("a second release = %v, %v; want nothing changed", released, err)
			}
		})
	}
	t.Run("another runner's release is refused", func(t *testing.T) {
		j, resp := claim(t, "theirs", true)
		_, err := h.release(b, resp)
		wantKind(t, err, "permission_denied")
		if s, _ := h.status(t, j.ID); s != runners.JobRunning {
			t.Fatalf("job %s, want running", s)
		}
	})
	t.Run("after a repeat of the claim reached the runner: nothing changes", func(t *testing.T) {
		j, resp := claim(t, "heard", true)
		again, err := h.claimStart(a, "heard", false)
		if err != nil || again.Job == nil || again.Job.ID != j.ID {
			t.Fatalf("repeated claim = %+v, %v", again, err)
		}
		if released, err := h.release(a, resp); err != nil || released {
			t.Fatalf("release = %v, %v; want nothing changed", released, err)
		}
		if s, attempt := h.status(t, j.ID); s != runners.JobRunning || attempt != 1 {
			t.Fatalf("job %s at attempt %d, want running at 1", s, attempt)
		}
		// The repeat's lease is the one that counts now.
		if released, err := h.release(a, again); err != nil || !released {
			t.Fatalf("release with the repeat's lease = %v, %v", released, err)
		}
	})
}

// A claim that takes its job up takes one job at most, however many
// instances serve it at once: the agent repeats a claim whose answer it
// lost, and the gateway sends a claim whose instance fell silent to
// another, while the first may still be waiting. Whichever takes a job
// first, the others hand that job over (their answers may go nowhere); a
// job taken twice would run once and wait out its lease the other time,
// spending an attempt.
func TestAClaimTakesOneJobOnEveryInstance(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	v := job.Runner{ID: a.Runner.ID, Name: "a", Environment: runners.EnvStaging, Labels: []string{}}
	instances := []*job.Service{h.jobs, h.jobService(t), h.jobService(t)}
	var ids []string
	for range 3 {
		ids = append(ids, h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging}).ID)
	}
	pending := func(t *testing.T, want int) {
		t.Helper()
		var n int
		if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM jobs WHERE status = 'pending' AND attempt = 1").Scan(&n); err != nil || n != want {
			t.Fatalf("%d jobs pending at their first attempt (%v), want %d", n, err, want)
		}
	}

	t.Run("twelve copies of one claim at once take one job", func(t *testing.T) {
		got := make(chan string, 12)
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				j, err := instances[i%3].Claim(t.Context(), v, 0, "one", i < 3, true)
				switch {
				case err != nil:
					t.Errorf("claim %d: %v", i, err)
				case j != nil:
					got <- j.ID
				}
			})
		}
		wg.Wait()
		close(got)
		handed := map[string]int{}
		for id := range got {
			handed[id]++
		}
		if len(handed) != 1 || handed[ids[0]] == 0 {
			t.Fatalf("jobs handed out under one claim id: %v, want only the oldest, %s", handed, ids[0])
		}
		pending(t, 2)
	})
	t.Run("a late copy, its job running, hands it over and takes no other", func(t *testing.T) {
		j, err := instances[1].Claim(t.Context(), v, 0, "one", true, true)
		if err != nil || j == nil || j.ID != ids[0] {
			t.Fatalf("late copy = %+v, %v", j, err)
		}
		pending(t, 2)
	})
	t.Run("once its job ended, a copy takes nothing", func(t *testing.T) {
		if err := h.complete(a, ids[0], 1, runners.JobSucceeded); err != nil {
			t.Fatal(err)
		}
		j, err := instances[2].Claim(t.Context(), v, 0, "one", true, true)
		if err != nil || j != nil {
			t.Fatalf("copy after the job ended = %+v, %v", j, err)
		}
		pending(t, 2)
	})
	t.Run("a claim whose job was released takes another", func(t *testing.T) {
		resp, err := h.claimStart(a, "two", true)
		if err != nil || resp.Job == nil || resp.Job.ID != ids[1] {
			t.Fatalf("claim = %+v, %v", resp.Job, err)
		}
		if ok, err := h.release(a, resp); !ok || err != nil {
			t.Fatalf("release = %v, %v", ok, err)
		}
		j, err := instances[1].Claim(t.Context(), v, 0, "two", false, true)
		if err != nil || j == nil || j.ID != ids[2] {
			t.Fatalf("the claim again = %+v, %v; want the next job, %s", j, err, ids[2])
		}
	})
}
