package natsapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

func TestJobBatch(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	h.publish(t, "report", "2.0.0", time.Now())
	reg := h.register(t, "a", runners.EnvStaging)
	batch := func(key string, reqs ...runners.CreateJobRequest) (runners.CreateJobsResponse, error) {
		return call[runners.CreateJobsResponse](as(operator), h.harness, runners.SubjectJobCreateBatch,
			runners.CreateJobsRequest{Jobs: reqs, IdempotencyKey: key})
	}
	jobsIn := func(t *testing.T) int {
		t.Helper()
		var n int
		if err := h.pool.QueryRow(t.Context(), "SELECT count(*) FROM jobs").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	etl := runners.CreateJobRequest{Package: "etl", Environment: runners.EnvStaging}
	report := runners.CreateJobRequest{Package: "report", Environment: runners.EnvStaging, Parameters: params(`{"day":"mon"}`)}

	var first runners.CreateJobsResponse
	t.Run("the jobs are created in order, pending, each audited, and handed out", func(t *testing.T) {
		var err error
		first, err = batch("", etl, report, etl)
		if err != nil || len(first.Items) != 3 {
			t.Fatalf("batch = %+v, %v", first, err)
		}
		for i, want := range []string{"etl", "report", "etl"} {
			j := first.Items[i]
			if j.Package != want || j.Status != runners.JobPending || j.CreatedBy != operator.ID {
				t.Fatalf("jobs[%d] = %+v", i, j)
			}
		}
		creates := 0
		for _, ev := range h.events(t) {
			if ev.Action == "job.create" {
				creates++
			}
		}
		if creates != 3 {
			t.Fatalf("%d job.create events, want 3", creates)
		}
		for i := range first.Items {
			c := h.mustClaim(t, reg)
			if c.ID != first.Items[i].ID {
				t.Fatalf("claim %d got %s, want %s (queued in order)", i, c.ID, first.Items[i].ID)
			}
		}
	})
	t.Run("one bad job refuses the batch, names it, and creates none", func(t *testing.T) {
		before := jobsIn(t)
		_, err := batch("", etl, runners.CreateJobRequest{Package: "etl", Environment: "Moon"})
		wantKind(t, err, errs.InvalidArgument)
		if !strings.Contains(err.Error(), "jobs[1]") {
			t.Fatalf("error %q does not name jobs[1]", err)
		}
		_, err = batch("", etl, runners.CreateJobRequest{Package: "nope", Environment: runners.EnvStaging})
		wantKind(t, err, errs.NotFound)
		if !strings.Contains(err.Error(), "jobs[1]") {
			t.Fatalf("error %q does not name jobs[1]", err)
		}
		if after := jobsIn(t); after != before {
			t.Fatalf("%d jobs after a refused batch, were %d", after, before)
		}
	})
	t.Run("a batch holds 1 to 100 jobs, none with a key of its own", func(t *testing.T) {
		_, err := batch("")
		wantKind(t, err, errs.InvalidArgument)
		many := make([]runners.CreateJobRequest, runners.MaxJobBatch+1)
		for i := range many {
			many[i] = etl
		}
		_, err = batch("", many...)
		wantKind(t, err, errs.InvalidArgument)
		keyed := etl
		keyed.IdempotencyKey = "mine"
		_, err = batch("", etl, keyed)
		wantKind(t, err, errs.InvalidArgument)
		_, err = batch("with space", etl)
		wantKind(t, err, errs.InvalidArgument)
	})
	t.Run("a repeat under the batch's key returns the same jobs", func(t *testing.T) {
		one, err := batch("b-1", etl, report)
		if err != nil {
			t.Fatal(err)
		}
		before := jobsIn(t)
		again, err := batch("b-1", etl, report)
		if err != nil || len(again.Items) != 2 || again.Items[0].ID != one.Items[0].ID || again.Items[1].ID != one.Items[1].ID {
			t.Fatalf("repeat = %+v, %v; first %+v", again, err, one)
		}
		if after := jobsIn(t); after != before {
			t.Fatalf("a repeat created %d jobs", after-before)
		}
		for name, other := range map[string][]runners.CreateJobRequest{
			"other jobs": {report, etl},
			"fewer":      {etl},
			"more":       {etl, report, etl},
		} {
			_, err := batch("b-1", other...)
			if errs.KindOf(err) != errs.Conflict {
				t.Fatalf("%s under a used key: %v, want conflict", name, err)
			}
		}
	})
	t.Run("only operators and up create", func(t *testing.T) {
		nobody := caller.Actor{Type: "user", ID: "9f1c9b7e-0000-4000-8000-000000000009", Email: "no@x.test"}
		_, err := call[runners.CreateJobsResponse](as(nobody), h.harness, runners.SubjectJobCreateBatch,
			runners.CreateJobsRequest{Jobs: []runners.CreateJobRequest{etl}})
		if err == nil {
			t.Fatal("a caller without a role created jobs")
		}
	})
}

func TestLicenseGatesJobBatches(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	h.license(0)
	_, err := call[runners.CreateJobsResponse](as(operator), h.harness, runners.SubjectJobCreateBatch,
		runners.CreateJobsRequest{Jobs: []runners.CreateJobRequest{{Package: "etl", Environment: runners.EnvStaging}}})
	wantKind(t, err, errs.LicenseRequired)
}
