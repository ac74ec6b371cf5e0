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

func (h *historyHarness) metrics(ctx context.Context, id string, hours int) (runners.RunnerMetricsHistory, error) {
	return call[runners.RunnerMetricsHistory](ctx, h.harness, runners.SubjectRunnerMetrics, runners.RunnerMetricsRequest{ID: id, Hours: hours})
}

func (h *historyHarness) stats(ctx context.Context, hours int) (runners.DashboardStats, error) {
	return call[runners.DashboardStats](ctx, h.harness, runners.SubjectDashboardStats, runners.DashboardStatsRequest{Hours: hours})
}

// beatMetrics sends a heartbeat with cpu and mem percentages and disk free, and flushes it.
func (h *historyHarness) beatMetrics(t testing.TB, reg runners.Registered, cpu, mem float64, disk int64) {
	t.Helper()
	hb := heartbeat()
	hb.Metrics = runners.Metrics{CPUPercent: cpu, MemoryPercent: mem, DiskFreeBytes: disk}
	must[runners.HeartbeatResponse](t)(h.beat(gateway(sourceIP), reg.Runner.ID, reg.MachineSecret, hb))
	if _, err := h.svc.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestRunnerMetricsHistory(t *testing.T) {
	h := newHistoryHarness(t)
	a, b := h.register(t, "runner-a", runners.EnvStaging), h.register(t, "runner-b", runners.EnvStaging)
	// 09:00:00 and 09:00:20 fall in one minute; 09:01:10 in the next.
	h.beatMetrics(t, a, 10, 40, 900)
	h.clock.Advance(20 * time.Second)
	h.beatMetrics(t, a, 30, 20, 500)
	h.beatMetrics(t, b, 99, 99, 1)
	h.clock.Advance(50 * time.Second)
	h.beatMetrics(t, a, 50, 50, 700)
	t.Run("heartbeats are summed up per minute", func(t *testing.T) {
		got := must[runners.RunnerMetricsHistory](t)(h.metrics(as(operator), a.Runner.ID, 1))
		if got.RunnerID != a.Runner.ID || got.Hours != 1 || len(got.Points) != 2 {
			t.Fatalf("metrics %+v", got)
		}
		p := got.Points[0]
		if !p.Minute.Equal(time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)) || p.Samples != 2 || p.CPUPercentAvg != 20 || p.CPUPercentMax != 30 ||
			p.MemoryPercentAvg != 30 || p.MemoryPercentMax != 40 || p.DiskFreeBytesMin != 500 {
			t.Fatalf("first minute %+v", p)
		}
		if q := got.Points[1]; !q.Minute.Equal(time.Date(2026, 6, 1, 9, 1, 0, 0, time.UTC)) || q.Samples != 1 || q.CPUPercentMax != 50 {
			t.Fatalf("second minute %+v", q)
		}
	})
	t.Run("hours bounds the answer", func(t *testing.T) {
		h.clock.Advance(2 * time.Hour)
		h.beatMetrics(t, a, 1, 1, 1)
		if got := must[runners.RunnerMetricsHistory](t)(h.metrics(as(operator), a.Runner.ID, 1)); len(got.Points) != 1 {
			t.Fatalf("last hour %+v", got.Points)
		}
		if got := must[runners.RunnerMetricsHistory](t)(h.metrics(as(operator), a.Runner.ID, 0)); got.Hours != 24 || len(got.Points) != 3 {
			t.Fatalf("default hours %+v", got)
		}
	})
	t.Run("the sampler prunes minutes older than 24 hours", func(t *testing.T) {
		h.clock.Advance(23 * time.Hour)
		if err := h.hist.Sample(t.Context()); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM runner_metrics").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 { // only the 11:01 minute of a is within 24 hours of 10:01:10 the next day
			t.Fatalf("%d rows left", n)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, hours := range []int{-1, 25} {
			_, err := h.metrics(as(operator), a.Runner.ID, hours)
			wantKind(t, err, errs.InvalidArgument)
		}
		_, err := h.metrics(as(operator), "00000000-0000-4000-8000-000000000000", 1)
		wantKind(t, err, errs.NotFound)
		_, err = h.metrics(as(operator), "nope", 1)
		wantKind(t, err, errs.NotFound)
		_, err = h.metrics(gateway(sourceIP), a.Runner.ID, 1)
		wantKind(t, err, errs.PermissionDenied)
		_, err = h.metrics(as(caller.Actor{Type: "runner", ID: a.Runner.ID, Role: "ADMIN"}), a.Runner.ID, 1) // forged
		wantKind(t, err, errs.PermissionDenied)
	})
	t.Run("a deleted runner's metrics are no longer shown", func(t *testing.T) {
		must[runners.DeleteResponse](t)(call[runners.DeleteResponse](as(admin), h.harness, runners.SubjectDelete, runners.DeleteRequest{ID: b.Runner.ID}))
		_, err := h.metrics(as(operator), b.Runner.ID, 1)
		wantKind(t, err, errs.NotFound)
	})
}

func TestDashboardStats(t *testing.T) {
	h := newHistoryHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "runner-a", runners.EnvStaging)
	h.register(t, "runner-b", runners.EnvProduction)
	h.beatWith(t, a)
	t.Run("one sample a minute whatever the number of instances", func(t *testing.T) {
		other, err := history.NewService(h.store.Store.History(), h.service(t), h.log, h.clock.Now)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*history.Service{h.hist, other, h.hist} {
			if err := s.Sample(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM runner_counts").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != len(runners.Environments) {
			t.Fatalf("%d rows, want one per environment", n)
		}
	})
	// 09:00 job 1 waits 20 s and succeeds; 09:00:30 job 2 fails; job 3 waits.
	j1 := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	h.clock.Advance(20 * time.Second)
	c := h.mustClaim(t, a)
	if err := h.complete(a, j1.ID, c.Attempt, runners.JobSucceeded); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(10 * time.Second)
	j2 := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	c = h.mustClaim(t, a)
	if err := h.complete(a, j2.ID, c.Attempt, runners.JobFailed); err != nil {
		t.Fatal(err)
	}
	h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvProduction})
	h.clock.Advance(time.Hour) // 10:00:30: the sample of this minute sees a offline
	if err := h.hist.Sample(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := must[runners.DashboardStats](t)(h.stats(as(operator), 2))
	nine := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	t.Run("the window is whole hours up to the end of this one", func(t *testing.T) {
		if got.Hours != 2 || !got.From.Equal(nine) || !got.To.Equal(nine.Add(2*time.Hour)) {
			t.Fatalf("window %+v", got)
		}
	})
	t.Run("jobs finished per hour by status", func(t *testing.T) {
		if len(got.JobsFinished) != 1 || !got.JobsFinished[0].Hour.Equal(nine) || got.JobsFinished[0].Succeeded != 1 ||
			got.JobsFinished[0].Failed != 1 || got.JobsFinished[0].Canceled != 0 {
			t.Fatalf("finished %+v", got.JobsFinished)
		}
	})
	t.Run("jobs waiting now by environment", func(t *testing.T) {
		want := map[string]int{runners.EnvDevelopment: 0, runners.EnvStaging: 0, runners.EnvProduction: 1}
		if len(got.JobsWaiting) != 3 {
			t.Fatalf("waiting %+v", got.JobsWaiting)
		}
		for _, w := range got.JobsWaiting {
			if want[w.Environment] != w.Jobs {
				t.Fatalf("waiting %+v", got.JobsWaiting)
			}
		}
	})
	t.Run("runners online per hour by environment", func(t *testing.T) {
		rows := map[string]runners.RunnersOnlineHour{}
		for _, r := range got.RunnersOnline {
			rows[r.Hour.Format("15")+" "+r.Environment] = r
		}
		if r := rows["09 Staging"]; r.Max != 1 || r.Avg != 1 {
			t.Fatalf("runners online %+v", got.RunnersOnline)
		}
		if r := rows["10 Staging"]; r.Max != 0 || len(got.RunnersOnline) != 6 {
			t.Fatalf("runners online %+v", got.RunnersOnline)
		}
	})
	t.Run("pickup latency p95 per hour", func(t *testing.T) {
		// Waits of 20 s and 0 s: the 95th percentile interpolates to 19 s.
		if len(got.PickupLatency) != 1 || got.PickupLatency[0].Jobs != 2 || got.PickupLatency[0].P95Seconds != 19 {
			t.Fatalf("pickup %+v", got.PickupLatency)
		}
	})
	t.Run("an empty window answers empty lists", func(t *testing.T) {
		h.clock.Advance(47 * time.Hour)
		empty := must[runners.DashboardStats](t)(h.stats(as(operator), 1))
		if empty.JobsFinished == nil || len(empty.JobsFinished) != 0 || empty.RunnersOnline == nil || empty.PickupLatency == nil {
			t.Fatalf("stats %+v", empty)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, hours := range []int{-1, 49} {
			_, err := h.stats(as(operator), hours)
			wantKind(t, err, errs.InvalidArgument)
		}
		_, err := h.stats(gateway(sourceIP), 1)
		wantKind(t, err, errs.PermissionDenied)
		_, err = h.stats(as(caller.Actor{Type: "runner", ID: "x", Role: "ADMIN"}), 1) // forged
		wantKind(t, err, errs.PermissionDenied)
	})
}
