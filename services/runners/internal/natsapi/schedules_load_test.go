package natsapi_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestScheduleBurstAndMetrics fires many schedules due at the same second
// in one round of the loop (the jobs made by Workers at once), and reads
// the fires back in the metrics.
func TestScheduleBurstAndMetrics(t *testing.T) {
	h := newSchedulesHarness(t)
	const n = 300
	for i := range n {
		s := spec(fmt.Sprintf("minutely %03d", i), 60)
		s.Concurrency = runners.ConcurrencyAllow
		if _, err := h.sched.CreateSchedule(as(developer), s); err != nil {
			t.Fatal(err)
		}
	}
	paused := spec("paused", 60)
	paused.Paused = true
	h.createSchedule(t, paused)

	h.clock.Advance(time.Minute)
	start := time.Now()
	h.step(t)
	elapsed := time.Since(start)
	var fires, jobs int
	if err := h.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'job_created'),
		count(DISTINCT job_id) FROM schedule_fires`).Scan(&fires, &jobs); err != nil {
		t.Fatal(err)
	}
	if fires != n || jobs != n {
		t.Fatalf("%d fires made %d jobs, want %d", fires, jobs, n)
	}
	t.Logf("%d schedules due at once fired in %s (%.0f fires/s)", n, elapsed, n/elapsed.Seconds())

	if err := h.meter.UpdateStates(t.Context(), h.store.Store.Schedules()); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`# HELP exekra_schedule_fires_total Schedule fires by the outcome they reached (queued, then job_created, counts twice).
# TYPE exekra_schedule_fires_total counter
exekra_schedule_fires_total{outcome="failed"} 0
exekra_schedule_fires_total{outcome="job_created"} %d
exekra_schedule_fires_total{outcome="missed"} 0
exekra_schedule_fires_total{outcome="queued"} 0
exekra_schedule_fires_total{outcome="skipped_calendar"} 0
exekra_schedule_fires_total{outcome="skipped_concurrency"} 0
# HELP exekra_schedules Schedules by state (from PostgreSQL).
# TYPE exekra_schedules gauge
exekra_schedules{state="active"} %d
exekra_schedules{state="ended"} 0
exekra_schedules{state="paused"} 1
`, n, n)
	if err := testutil.GatherAndCompare(h.reg, strings.NewReader(want), "exekra_schedule_fires_total", "exekra_schedules"); err != nil {
		t.Fatal(err)
	}
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var observed uint64
	for _, f := range families {
		if f.GetName() == "exekra_schedule_fire_lag_seconds" {
			observed = f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	if observed != n {
		t.Fatalf("the lag histogram holds %d fires, want %d", observed, n)
	}
}
