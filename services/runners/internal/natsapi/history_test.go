package natsapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/testkit/natsrpctest"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/runners/internal/history"
	"github.com/exekra/hub/services/runners/internal/natsapi"
)

// historyHarness serves the jobs and the history operations.
type historyHarness struct {
	*jobsHarness
	hist *history.Service
}

func newHistoryHarness(t testing.TB) *historyHarness {
	t.Helper()
	h := &historyHarness{jobsHarness: newJobsHarness(t)}
	hist, err := history.NewService(h.store.Store.History(), h.svc, h.log, h.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	h.hist = hist
	natsrpctest.Serve(t, natstest.Connect(t, h.url), h.log, "exekra-runners-history", natsapi.HistoryEndpoints(hist)...)
	return h
}

func (h *historyHarness) rerun(ctx context.Context, id, key string) (runners.Job, error) {
	return call[runners.Job](ctx, h.harness, runners.SubjectJobRerun, runners.RerunJobRequest{ID: id, IdempotencyKey: key})
}

func (h *historyHarness) history(t testing.TB, id string) []runners.JobAttempt {
	t.Helper()
	j := h.getJob(t, id)
	if j.AttemptHistory == nil {
		t.Fatalf("job %s has no attempt_history", id)
	}
	return *j.AttemptHistory
}

func TestAttemptHistoryOfALostRunnerThenASuccess(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a, b := h.register(t, "runner-a", runners.EnvStaging), h.register(t, "runner-b", runners.EnvStaging)
	j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, MaxAttempts: 2})
	t.Run("a pending job has an empty history, and no runner or duration", func(t *testing.T) {
		got := h.getJob(t, j.ID)
		if got.AttemptHistory == nil || len(*got.AttemptHistory) != 0 || got.RunnerName != nil || got.DurationSeconds != nil {
			t.Fatalf("job %+v", got)
		}
		raw, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if hist, ok := m["attempt_history"].([]any); !ok || len(hist) != 0 {
			t.Fatalf("attempt_history in JSON = %#v", m["attempt_history"])
		}
	})
	first := h.mustClaim(t, a)
	t.Run("a claim opens an attempt named for its runner", func(t *testing.T) {
		hist := h.history(t, j.ID)
		if len(hist) != 1 || hist[0].Number != 1 || hist[0].RunnerID != a.Runner.ID || hist[0].RunnerName != "runner-a" ||
			hist[0].Outcome != runners.AttemptRunning || hist[0].RunningAt != nil || hist[0].EndedAt != nil || hist[0].DurationSeconds != nil {
			t.Fatalf("history %+v", hist)
		}
		if got := h.getJob(t, j.ID); got.RunnerName == nil || *got.RunnerName != "runner-a" {
			t.Fatalf("runner_name = %v", got.RunnerName)
		}
	})
	h.clock.Advance(5 * time.Second)
	if _, err := h.upload(a, j.ID, first.Attempt, "hello"); err != nil {
		t.Fatal(err)
	}
	t.Run("the runner's first word marks the attempt running", func(t *testing.T) {
		hist := h.history(t, j.ID)
		if hist[0].RunningAt == nil || !hist[0].RunningAt.Equal(h.clock.Now()) {
			t.Fatalf("history %+v", hist)
		}
	})
	h.clock.Advance(61 * time.Second)
	if n := h.reap(t); n != 1 {
		t.Fatalf("reaped %d", n)
	}
	t.Run("an expired lease ends the attempt lease_expired", func(t *testing.T) {
		hist := h.history(t, j.ID)
		if len(hist) != 1 || hist[0].Outcome != runners.AttemptLeaseExpired || hist[0].EndedAt == nil ||
			hist[0].DurationSeconds == nil || *hist[0].DurationSeconds != 66 || hist[0].Reason == "" {
			t.Fatalf("history %+v", hist)
		}
	})
	second := h.mustClaim(t, b)
	h.beatWith(t, b, j.ID) // a heartbeat naming the job takes it up
	h.clock.Advance(10 * time.Second)
	if err := h.complete(b, j.ID, second.Attempt, runners.JobSucceeded); err != nil {
		t.Fatal(err)
	}
	t.Run("the second attempt, taken up by heartbeat, succeeds", func(t *testing.T) {
		hist := h.history(t, j.ID)
		if len(hist) != 2 || hist[1].Number != 2 || hist[1].RunnerName != "runner-b" || hist[1].RunningAt == nil ||
			hist[1].Outcome != runners.AttemptSucceeded || hist[1].DurationSeconds == nil || *hist[1].DurationSeconds != 10 {
			t.Fatalf("history %+v", hist)
		}
		got := h.getJob(t, j.ID)
		if got.RunnerName == nil || *got.RunnerName != "runner-b" || got.DurationSeconds == nil || *got.DurationSeconds != 10 {
			t.Fatalf("job %+v", got)
		}
	})
	t.Run("a list shows runner names but no history", func(t *testing.T) {
		page := must[runners.ListJobsResponse](t)(call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList, runners.ListJobsRequest{}))
		if len(page.Items) != 1 || page.Items[0].AttemptHistory != nil || page.Items[0].RunnerName == nil {
			t.Fatalf("page %+v", page)
		}
	})
}

func TestAttemptOutcomesTheHubDecides(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "runner-a", runners.EnvStaging)
	t.Run("a claim never taken up ends not_started", func(t *testing.T) {
		j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		h.mustClaim(t, a)
		h.clock.Advance(31 * time.Second)
		h.reap(t)
		hist := h.history(t, j.ID)
		if len(hist) != 1 || hist[0].Outcome != runners.AttemptNotStarted {
			t.Fatalf("history %+v", hist)
		}
		c := h.mustClaim(t, a)
		if _, err := h.upload(a, j.ID, c.Attempt, "x"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(61 * time.Second)
		h.reap(t)
		hist = h.history(t, j.ID)
		if len(hist) != 2 || hist[1].Number != 2 || hist[1].Outcome != runners.AttemptRunnerLost {
			t.Fatalf("history %+v", hist)
		}
	})
	t.Run("a job past its timeout ends timed_out", func(t *testing.T) {
		j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, TimeoutSeconds: 30})
		c := h.mustClaim(t, a)
		for range 2 {
			h.clock.Advance(20 * time.Second)
			h.beatWith(t, a, j.ID)
		}
		h.reap(t)
		hist := h.history(t, j.ID)
		if len(hist) != 1 || hist[0].Outcome != runners.AttemptTimedOut || c.Attempt != 1 {
			t.Fatalf("history %+v", hist)
		}
	})
	t.Run("a runner's failure ends failed with its error", func(t *testing.T) {
		j := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
		c := h.mustClaim(t, a)
		code := 3
		_, err := call[runners.CompleteResponse](gateway(sourceIP), h.harness, runners.SubjectComplete, runners.CompleteRequest{
			AgentRequest: agent(a), JobID: j.ID, Attempt: c.Attempt, Status: runners.JobFailed, ExitCode: &code, Error: "exit 3"})
		if err != nil {
			t.Fatal(err)
		}
		hist := h.history(t, j.ID)
		if len(hist) != 1 || hist[0].Outcome != runners.AttemptFailed || hist[0].Reason != "exit 3" {
			t.Fatalf("history %+v", hist)
		}
	})
}

func TestRerun(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	h.publish(t, "etl", "1.1.0", time.Now())
	a := h.register(t, "runner-a", runners.EnvProduction, "gpu")
	src := h.create(t, runners.CreateJobRequest{Package: "etl", Version: "1.0.0", Environment: runners.EnvProduction,
		RunnerID: a.Runner.ID, Labels: []string{"gpu"}, Parameters: params(`{"day":"monday"}`), MaxAttempts: 3, TimeoutSeconds: 60})
	var again runners.Job
	t.Run("a re-run copies the job and names it", func(t *testing.T) {
		again = must[runners.Job](t)(h.rerun(as(operator), src.ID, ""))
		if again.ID == src.ID || again.Status != runners.JobPending || again.RerunOf == nil || *again.RerunOf != src.ID ||
			again.Package != "etl" || again.Version != "1.0.0" || again.Environment != runners.EnvProduction ||
			again.TargetRunnerID == nil || *again.TargetRunnerID != a.Runner.ID || len(again.Labels) != 1 ||
			string(again.Parameters) != `{"day": "monday"}` && string(again.Parameters) != `{"day":"monday"}` ||
			again.MaxAttempts != 3 || again.TimeoutSeconds != 60 || again.CreatedBy != operator.ID {
			t.Fatalf("re-run %+v of %+v", again, src)
		}
		if again.RunnerName == nil || *again.RunnerName != "runner-a" || again.TargetRunnerName == nil {
			t.Fatalf("runner names %v %v", again.RunnerName, again.TargetRunnerName)
		}
		if got := h.getJob(t, again.ID); got.RerunOf == nil || *got.RerunOf != src.ID {
			t.Fatalf("stored rerun_of %v", got.RerunOf)
		}
	})
	t.Run("it is audited as job.create with rerun_of", func(t *testing.T) {
		var found bool
		for _, ev := range h.events(t) {
			if ev.Action == "job.create" && ev.Target.ID == again.ID {
				found = ev.Details["rerun_of"] == src.ID && ev.Actor.ID == operator.ID
			}
		}
		if !found {
			t.Fatal("no job.create event with rerun_of for the re-run")
		}
	})
	t.Run("an idempotency key makes a repeat return the same job", func(t *testing.T) {
		one := must[runners.Job](t)(h.rerun(as(operator), src.ID, "key-1"))
		two := must[runners.Job](t)(h.rerun(as(operator), src.ID, "key-1"))
		if one.ID != two.ID || one.ID == again.ID {
			t.Fatalf("%s then %s", one.ID, two.ID)
		}
		_, err := h.rerun(as(operator), again.ID, "key-1") // another job under the same key
		wantKind(t, err, errs.Conflict)
	})
	t.Run("a finished job can be re-run", func(t *testing.T) {
		must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobCancel, runners.JobRequest{ID: src.ID}))
		if _, err := h.rerun(as(operator), src.ID, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		_, err := h.rerun(as(operator), "00000000-0000-4000-8000-000000000000", "")
		wantKind(t, err, errs.NotFound)
		_, err = h.rerun(as(operator), "not-an-id", "")
		wantKind(t, err, errs.NotFound)
		_, err = h.rerun(gateway(sourceIP), src.ID, "")
		wantKind(t, err, errs.PermissionDenied)
		_, err = h.rerun(as(caller.Actor{Type: "user", ID: "x", Role: "NOBODY"}), src.ID, "")
		wantKind(t, err, errs.PermissionDenied)
	})
}
