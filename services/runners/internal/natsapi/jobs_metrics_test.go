package natsapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestJobMetrics(t *testing.T) {
	h := newJobsHarness(t)
	h.publish(t, "etl", "1.0.0", time.Now())
	a := h.register(t, "a", runners.EnvStaging)
	h.createMany(t, 3)
	h.create(t, runners.CreateJobRequest{Package: "etl", Environment: runners.EnvProduction})
	c := h.mustClaim(t, a)
	if err := h.complete(a, c.ID, c.Attempt, runners.JobSucceeded); err != nil {
		t.Fatal(err)
	}
	if err := h.jobs.MeasureQueues(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := `# HELP exekra_jobs_total Jobs that entered each status (pending again after a lost runner counts again).
# TYPE exekra_jobs_total counter
exekra_jobs_total{status="canceled"} 0
exekra_jobs_total{status="claimed"} 1
exekra_jobs_total{status="failed"} 0
exekra_jobs_total{status="pending"} 4
exekra_jobs_total{status="running"} 0
exekra_jobs_total{status="succeeded"} 1
# HELP exekra_queue_depth Pending jobs by environment (from PostgreSQL).
# TYPE exekra_queue_depth gauge
exekra_queue_depth{environment="Development"} 0
exekra_queue_depth{environment="Production"} 1
exekra_queue_depth{environment="Staging"} 2
`
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want), "exekra_jobs_total", "exekra_queue_depth"); err != nil {
		t.Fatal(err)
	}
}
