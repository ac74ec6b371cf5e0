package natsapi_test

import (
	"fmt"
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
