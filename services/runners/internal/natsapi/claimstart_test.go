package natsapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
)

// claimStart claims under claimID as reg, the claim taking its job up.
func (h *jobsHarness) claimStart(reg runners.Registered, claimID string, first bool) (*runners.ClaimedJob, error) {
	ctx, cancel := context.WithTimeout(gateway(sourceIP), runners.ClaimTimeout)
	defer cancel()
	resp, err := call[runners.ClaimResponse](ctx, h.harness, runners.SubjectClaim,
		runners.ClaimRequest{AgentRequest: agent(reg), ClaimID: claimID, First: first, Start: true})
	return resp.Job, err
}

// A claim that takes its job up (Exekra-Claim-Start) hands over a running
// job with the running lease, its attempt running from the claim; a repeat
// of that claim hands it over again; the completion stores the job's last
// lines once, however often it is repeated.
func TestClaimThatTakesTheJobUp(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	now := h.clock.Now()
	got, err := h.claimStart(a, "start-1", true)
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
		if err != nil || again == nil || again.ID != j.ID || again.Attempt != 1 || !again.TakenUp() {
			t.Fatalf("repeated claim = %+v, %v", again, err)
		}
	})
	t.Run("a repeat without the header does not: the job is taken up", func(t *testing.T) {
		if again, err := h.claimAs(a, 0, "start-1"); again != nil || err != nil {
			t.Fatalf("repeated claim without start = %+v, %v", again, err)
		}
	})
	t.Run("the completion stores its lines once", func(t *testing.T) {
		code := 0
		req := runners.CompleteRequest{AgentRequest: agent(a), JobID: j.ID, Attempt: 1, Status: runners.JobSucceeded, ExitCode: &code,
			Lines: []runners.AgentLogLine{{TS: now, Stream: "stdout", Message: "done"}, {Stream: "stderr", Message: "bye"}}}
		for range 2 {
			if _, err := call[runners.CompleteResponse](gateway(sourceIP), h.harness, runners.SubjectComplete, req); err != nil {
				t.Fatal(err)
			}
		}
		lines := must[runners.JobLogs](t)(call[runners.JobLogs](as(operator), h.harness, runners.SubjectJobLogs,
			runners.JobLogsRequest{ID: j.ID})).Lines
		if len(lines) != 2 || lines[0].Message != "done" || lines[0].Seq != 1 || lines[1].Message != "bye" || lines[1].Stream != "stderr" {
			t.Fatalf("log %+v", lines)
		}
		if s, _ := h.status(t, j.ID); s != runners.JobSucceeded {
			t.Fatalf("status %s", s)
		}
	})
	t.Run("the completion's lines are checked like an upload's", func(t *testing.T) {
		k := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		c, err := h.claimStart(a, "start-2", true)
		if err != nil || c == nil || c.ID != k.ID {
			t.Fatalf("claim = %+v, %v", c, err)
		}
		_, err = call[runners.CompleteResponse](gateway(sourceIP), h.harness, runners.SubjectComplete,
			runners.CompleteRequest{AgentRequest: agent(a), JobID: k.ID, Status: runners.JobSucceeded,
				Lines: []runners.AgentLogLine{{Stream: "stdin", Message: "x"}}})
		wantKind(t, err, "invalid_argument")
		if s, _ := h.status(t, k.ID); s != runners.JobRunning {
			t.Fatalf("a refused completion left the job %s", s)
		}
	})
}

// A claim may carry the result of the job the runner ran: the result is
// stored before the claim looks for the next job; a refused result fails
// the claim, which then takes no job; a repeated result is no harm.
func TestClaimCarryingAResult(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	first := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	got, err := h.claimStart(a, "c-1", true)
	if err != nil || got == nil || got.ID != first.ID {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	second := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	code := 0
	done := &runners.CompleteRequest{JobID: first.ID, Attempt: got.Attempt, Status: runners.JobSucceeded, ExitCode: &code,
		Lines: []runners.AgentLogLine{{Stream: "stdout", Message: "finished"}}}
	claimAs := func(reg runners.Registered, claimID string, done *runners.CompleteRequest) (*runners.ClaimedJob, error) {
		ctx, cancel := context.WithTimeout(gateway(sourceIP), runners.ClaimTimeout)
		defer cancel()
		resp, err := call[runners.ClaimResponse](ctx, h.harness, runners.SubjectClaim,
			runners.ClaimRequest{AgentRequest: agent(reg), ClaimID: claimID, Start: true, Complete: done})
		return resp.Job, err
	}
	claimAfter := func(claimID string, done *runners.CompleteRequest) (*runners.ClaimedJob, error) {
		return claimAs(a, claimID, done)
	}
	t.Run("another runner's claim cannot finish this runner's job", func(t *testing.T) {
		b := h.register(t, "b", runners.EnvStaging)
		_, err := claimAs(b, "b-1", done)
		wantKind(t, err, "permission_denied")
		if s, _ := h.status(t, first.ID); s != runners.JobRunning {
			t.Fatalf("another runner's result changed the job: %s", s)
		}
		if s, _ := h.status(t, second.ID); s != runners.JobPending {
			t.Fatalf("a claim whose result was refused took a job: %s", s)
		}
	})
	t.Run("the result is stored, then the next job claimed", func(t *testing.T) {
		next, err := claimAfter("c-2", done)
		if err != nil || next == nil || next.ID != second.ID || !next.TakenUp() {
			t.Fatalf("claim = %+v, %v", next, err)
		}
		if s, _ := h.status(t, first.ID); s != runners.JobSucceeded {
			t.Fatalf("the finished job is %s", s)
		}
		lines := must[runners.JobLogs](t)(call[runners.JobLogs](as(operator), h.harness, runners.SubjectJobLogs,
			runners.JobLogsRequest{ID: first.ID})).Lines
		if len(lines) != 1 || lines[0].Message != "finished" {
			t.Fatalf("log %+v", lines)
		}
	})
	t.Run("its repeat stores nothing twice and hands over the same job", func(t *testing.T) {
		again, err := claimAfter("c-2", done)
		if err != nil || again == nil || again.ID != second.ID {
			t.Fatalf("repeated claim = %+v, %v", again, err)
		}
		lines := must[runners.JobLogs](t)(call[runners.JobLogs](as(operator), h.harness, runners.SubjectJobLogs,
			runners.JobLogsRequest{ID: first.ID})).Lines
		if len(lines) != 1 {
			t.Fatalf("log %+v", lines)
		}
	})
	t.Run("a refused result fails the claim, which takes no job", func(t *testing.T) {
		third := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		stale := *done
		stale.JobID, stale.Attempt = second.ID, 2 // the second job is at attempt 1
		_, err := claimAfter("c-3", &stale)
		wantKind(t, err, "conflict")
		if s, _ := h.status(t, third.ID); s != runners.JobPending {
			t.Fatalf("a claim whose result was refused took a job: %s", s)
		}
		if s, _ := h.status(t, second.ID); s != runners.JobRunning {
			t.Fatalf("a refused result changed its job: %s", s)
		}
	})
}
