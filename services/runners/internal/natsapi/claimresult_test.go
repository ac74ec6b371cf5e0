package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// A completion stores the lines it carries once, however often it is
// repeated, and checks them as an upload's.
func TestCompletionCarriesTheLastLines(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	c := h.mustClaim(t, a)
	if c.Status != runners.JobClaimed {
		t.Fatalf("claimed job's status %q, want claimed (it says results ride on claims)", c.Status)
	}
	if _, err := h.upload(a, j.ID, c.Attempt); err != nil { // the take-up
		t.Fatal(err)
	}
	code := 0
	complete := func(lines ...runners.AgentLogLine) error {
		_, err := call[runners.CompleteResponse](gateway(sourceIP), h.harness, runners.SubjectComplete,
			runners.CompleteRequest{AgentRequest: agent(a), JobID: j.ID, Attempt: c.Attempt, Status: runners.JobSucceeded, ExitCode: &code, Lines: lines})
		return err
	}
	t.Run("lines checked as an upload's, the job left as it was", func(t *testing.T) {
		wantKind(t, complete(runners.AgentLogLine{Stream: "stdin", Message: "x"}), "invalid_argument")
		if s, _ := h.status(t, j.ID); s != runners.JobRunning {
			t.Fatalf("a refused completion left the job %s", s)
		}
	})
	t.Run("stored once", func(t *testing.T) {
		last := []runners.AgentLogLine{{TS: h.clock.Now(), Stream: "stdout", Message: "done"}, {Stream: "stderr", Message: "bye"}}
		for range 2 {
			if err := complete(last...); err != nil {
				t.Fatal(err)
			}
		}
		lines := h.logOf(t, j.ID)
		if len(lines) != 2 || lines[0].Message != "done" || lines[0].Seq != 1 || lines[1].Message != "bye" || lines[1].Stream != "stderr" {
			t.Fatalf("log %+v", lines)
		}
		if s, _ := h.status(t, j.ID); s != runners.JobSucceeded {
			t.Fatalf("status %s", s)
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
	got, err := h.claimAs(a, 0, "c-1")
	if err != nil || got == nil || got.ID != first.ID {
		t.Fatalf("claim = %+v, %v", got, err)
	}
	if _, err := h.upload(a, first.ID, got.Attempt); err != nil {
		t.Fatal(err)
	}
	second := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	code := 0
	done := &runners.CompleteRequest{JobID: first.ID, Attempt: got.Attempt, Status: runners.JobSucceeded, ExitCode: &code,
		Lines: []runners.AgentLogLine{{Stream: "stdout", Message: "finished"}}}
	var completed bool // the last claim's answer said it stored the result
	claimAs := func(reg runners.Registered, claimID string, done *runners.CompleteRequest) (*runners.ClaimedJob, error) {
		resp, err := h.claimWith(reg, 0, claimID, done)
		completed = resp.Completed
		return resp.Job, err
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
		next, err := claimAs(a, "c-2", done)
		if err != nil || next == nil || next.ID != second.ID || !completed {
			t.Fatalf("claim = %+v, %v, completed %v", next, err, completed)
		}
		if s, _ := h.status(t, first.ID); s != runners.JobSucceeded {
			t.Fatalf("the finished job is %s", s)
		}
		if lines := h.logOf(t, first.ID); len(lines) != 1 || lines[0].Message != "finished" {
			t.Fatalf("log %+v", lines)
		}
	})
	t.Run("its repeat stores nothing twice and hands over the same job", func(t *testing.T) {
		again, err := claimAs(a, "c-2", done)
		if err != nil || again == nil || again.ID != second.ID {
			t.Fatalf("repeated claim = %+v, %v", again, err)
		}
		if lines := h.logOf(t, first.ID); len(lines) != 1 {
			t.Fatalf("log %+v", lines)
		}
	})
	t.Run("a refused result fails the claim, which takes no job", func(t *testing.T) {
		third := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		stale := *done
		stale.JobID, stale.Attempt = second.ID, 2 // the second job is at attempt 1
		_, err := claimAs(a, "c-3", &stale)
		wantKind(t, err, "conflict")
		if s, _ := h.status(t, third.ID); s != runners.JobPending {
			t.Fatalf("a claim whose result was refused took a job: %s", s)
		}
		if s, _ := h.status(t, second.ID); s != runners.JobClaimed {
			t.Fatalf("a refused result changed its job: %s", s)
		}
	})
}
