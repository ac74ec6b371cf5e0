package natsapi_test

import (
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestJobCreateGetListCancel(t *testing.T) {
	h := newJobsHarness(t)
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	h.publish(t, "etl", "1.0.0", t0)
	h.publish(t, "etl", "1.1.0", t0.Add(time.Hour))
	req := runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Labels: []string{"gpu"}, Parameters: params(`{"n": 1}`)}
	j := h.create(t, req)
	t.Run("a new job is pending at the latest version with its defaults", func(t *testing.T) {
		if j.Status != runners.JobPending || j.Version != "1.1.0" || j.Attempts != 0 || j.MaxAttempts != 1 ||
			j.TimeoutSeconds != 3600 || j.CreatedBy != operator.ID || j.RunnerID != nil || string(j.Parameters) != `{"n":1}` {
			t.Fatalf("job %+v", j)
		}
	})
	t.Run("get shows it with why it waits", func(t *testing.T) {
		if got := h.getJob(t, j.ID); got.ID != j.ID || got.PendingReason != runners.PendingNoRunner || got.Labels[0] != "gpu" {
			t.Fatalf("job %+v", got)
		}
	})
	t.Run("bad requests are refused", func(t *testing.T) {
		for name, tc := range map[string]struct {
			req  runners.CreateJobRequest
			kind errs.Kind
		}{
			"an unknown package":         {runners.CreateJobRequest{Package: "nope", Environment: runners.EnvStaging}, errs.NotFound},
			"an unknown version":         {runners.CreateJobRequest{Package: "etl", Version: "9.9.9", Environment: runners.EnvStaging}, errs.NotFound},
			"an unknown environment":     {runners.CreateJobRequest{Package: "etl", Environment: "Moon"}, errs.InvalidArgument},
			"parameters that are a list": {runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Parameters: params(`[1]`)}, errs.InvalidArgument},
			"too many attempts":          {runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, MaxAttempts: 11}, errs.InvalidArgument},
			"an unregistered runner":     {runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, RunnerID: admin.ID}, errs.InvalidArgument},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate, tc.req)
				wantKind(t, err, tc.kind)
			})
		}
	})
	t.Run("only signed-in users of OPERATOR and up may", func(t *testing.T) {
		_, err := call[runners.Job](as(caller.Actor{Type: "runner", ID: admin.ID}), h.harness, runners.SubjectJobCreate, req)
		wantKind(t, err, errs.PermissionDenied)
		_, err = call[runners.Job](gateway(sourceIP), h.harness, runners.SubjectJobGet, runners.JobRequest{ID: j.ID})
		wantKind(t, err, errs.PermissionDenied)
	})
	other := h.create(t, runners.CreateJobRequest{Package: "etl", Version: "1.0.0", Environment: runners.EnvProduction})
	t.Run("list filters and pages newest first", func(t *testing.T) {
		page := must[runners.ListJobsResponse](t)(call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList,
			runners.ListJobsRequest{Limit: 1}))
		if len(page.Items) != 1 || page.NextCursor == "" {
			t.Fatalf("page %+v", page)
		}
		next := must[runners.ListJobsResponse](t)(call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList,
			runners.ListJobsRequest{Limit: 1, Cursor: page.NextCursor}))
		if len(next.Items) != 1 || next.Items[0].ID == page.Items[0].ID || next.NextCursor != "" {
			t.Fatalf("next page %+v", next)
		}
		prod := must[runners.ListJobsResponse](t)(call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList,
			runners.ListJobsRequest{Environment: runners.EnvProduction, Status: runners.JobPending}))
		if len(prod.Items) != 1 || prod.Items[0].ID != other.ID {
			t.Fatalf("production %+v", prod)
		}
		list := func(r runners.ListJobsRequest) []runners.Job {
			return must[runners.ListJobsResponse](t)(call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList, r)).Items
		}
		at := other.CreatedAt
		if got := list(runners.ListJobsRequest{Package: "etl", Environment: runners.EnvProduction, Since: at, Until: at}); len(got) != 1 || got[0].ID != other.ID {
			t.Errorf("package etl in production created at %s (bounds inclusive): %+v", at, got)
		}
		if got := list(runners.ListJobsRequest{Package: "other"}); len(got) != 0 {
			t.Errorf("package other: %d jobs, want 0", len(got))
		}
		if got := list(runners.ListJobsRequest{Since: at.Add(time.Second)}); len(got) != 0 {
			t.Errorf("jobs after the newest: %d, want 0", len(got))
		}
		if got := list(runners.ListJobsRequest{Until: j.CreatedAt.Add(-time.Second)}); len(got) != 0 {
			t.Errorf("jobs before the oldest: %d, want 0", len(got))
		}
		_, err := call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList,
			runners.ListJobsRequest{Since: other.CreatedAt, Until: other.CreatedAt.Add(-time.Second)})
		wantKind(t, err, errs.InvalidArgument)
		_, err = call[runners.ListJobsResponse](as(operator), h.harness, runners.SubjectJobList, runners.ListJobsRequest{Package: "../etc"})
		wantKind(t, err, errs.InvalidArgument)
	})
	t.Run("cancel makes a pending job canceled at once, and no runner gets it", func(t *testing.T) {
		got := must[runners.Job](t)(call[runners.Job](as(operator), h.harness, runners.SubjectJobCancel, runners.JobRequest{ID: other.ID}))
		if got.Status != runners.JobCanceled || got.FinishedAt == nil {
			t.Fatalf("job %+v", got)
		}
		reg := h.register(t, "prod-1", runners.EnvProduction)
		if c, err := h.claim(reg, 0); c != nil || err != nil {
			t.Fatalf("claim = %+v, %v", c, err)
		}
		_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCancel, runners.JobRequest{ID: other.ID})
		wantKind(t, err, errs.Conflict)
	})
	t.Run("create and cancel are audited in the outbox", func(t *testing.T) {
		counts := map[string]int{}
		for _, ev := range h.events(t) {
			counts[ev.Action]++
		}
		if counts["job.create"] != 2 || counts["job.cancel"] != 1 {
			t.Fatalf("events %v", counts)
		}
	})
}

func TestLicenseGatesJobs(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	h.license(0)
	_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate,
		runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging})
	wantKind(t, err, errs.LicenseRequired)
}

// A client that lost a create's reply sends it again under the same
// Idempotency-Key and gets the job the first one created.
func TestJobCreateIdempotencyKey(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	req := runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging, Parameters: params(`{"n":1}`), IdempotencyKey: "k-1"}
	first := h.create(t, req)
	t.Run("a repeat returns the same job and starts nothing", func(t *testing.T) {
		h.publish(t, "etl", "1.1.0", time.Now().Add(time.Hour)) // "latest" moved: the repeat is still the first job
		again := h.create(t, req)
		if again.ID != first.ID || again.Version != "1.0.0" {
			t.Fatalf("repeat = %+v, first %+v", again, first)
		}
		var n int
		if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM jobs").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%d jobs (%v)", n, err)
		}
	})
	t.Run("repeats at the same moment make one job", func(t *testing.T) {
		concurrent := req
		concurrent.IdempotencyKey = "k-burst"
		ids := make(chan string, 8)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				j, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate, concurrent)
				if err != nil {
					t.Error(err)
				}
				ids <- j.ID
			})
		}
		wg.Wait()
		close(ids)
		seen := map[string]bool{}
		for id := range ids {
			seen[id] = true
		}
		if len(seen) != 1 {
			t.Fatalf("8 concurrent repeats made %d jobs", len(seen))
		}
	})
	t.Run("a different request under the same key is a conflict", func(t *testing.T) {
		changed := req
		changed.Parameters = params(`{"n":2}`)
		_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate, changed)
		wantKind(t, err, errs.Conflict)
	})
	t.Run("keys are per user", func(t *testing.T) {
		j := must[runners.Job](t)(call[runners.Job](as(admin), h.harness, runners.SubjectJobCreate, req))
		if j.ID == first.ID {
			t.Fatal("another user's key returned the operator's job")
		}
	})
	t.Run("a key that is not visible ASCII is refused", func(t *testing.T) {
		bad := req
		bad.IdempotencyKey = "with space"
		_, err := call[runners.Job](as(operator), h.harness, runners.SubjectJobCreate, bad)
		wantKind(t, err, errs.InvalidArgument)
	})
}

// "latest" is one rule everywhere: the highest version by semver, as the
// package list shows it, not the one published last.
func TestJobLatestIsTheHighestVersion(t *testing.T) {
	h := newJobsHarness(t)
	t0 := time.Now()
	h.publish(t, "etl", "1.1.0", t0)
	h.publish(t, "etl", "1.0.1", t0.Add(time.Hour)) // a hotfix of an older line
	if got := h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging}); got.Version != "1.1.0" {
		t.Fatalf("latest = %s, want 1.1.0", got.Version)
	}
}
