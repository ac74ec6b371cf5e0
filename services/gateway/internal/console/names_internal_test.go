package console

import (
	"math"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

func TestTargetLinks(t *testing.T) {
	for _, c := range []struct{ typ, id, want string }{
		{"job", "j 1", "/jobs/j%201"}, {"runner", "r-1", "/runners/r-1"}, {"user", "u-9", "/users#user-u-9"},
		{"package", "hello@1.2.0", "/packages/hello"}, {"license", "x", ""},
	} {
		if got := targetLink(c.typ, c.id); got != c.want {
			t.Errorf("targetLink(%q, %q) = %q, want %q", c.typ, c.id, got, c.want)
		}
	}
}

func TestDurations(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0 s", 59 * time.Second: "59 s", 65 * time.Second: "1 min 05 s",
		2*time.Hour + 3*time.Minute: "2 h 03 min", -time.Second: "0 s"} {
		if got := duration(d); got != want {
			t.Errorf("duration(%v) = %q, want %q", d, got, want)
		}
	}
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	running := newJobRowAt(runners.Job{Status: runners.JobRunning, StartedAt: &start}, start.Add(90*time.Second))
	if running.Duration != "1 min 30 s" || running.StartISO != "2026-01-01T10:00:00Z" || running.EndISO != "" {
		t.Errorf("running row: %+v", running)
	}
	pending := newJobRowAt(runners.Job{Status: runners.JobPending}, start)
	if pending.Duration != none || pending.StartISO != "" {
		t.Errorf("pending row: %+v", pending)
	}
}

func TestNamesPreferTheServiceRunnerName(t *testing.T) {
	id, name := "r-1", "renamed"
	n := names{runners: map[string]runners.Runner{"r-1": {ID: "r-1", Name: "build-01"}}, users: map[string]string{"u-1": "a@example.com"}}
	row := n.named(newJobRow(runners.Job{RunnerID: &id, CreatedBy: "u-1"}))
	if row.RunnerName != "build-01" || row.CreatedByName != "a@example.com" {
		t.Errorf("row: %+v", row)
	}
	row = n.named(newJobRow(runners.Job{RunnerID: &id, RunnerName: &name, CreatedBy: "u-2"}))
	if row.RunnerName != "renamed" || row.CreatedByName != "u-2" {
		t.Errorf("row: %+v", row)
	}
}

func TestMetricsSeriesOnAContinuousAxis(t *testing.T) {
	m := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	p := func(min int, cpu float64, disk int64) runners.MetricsPoint {
		return runners.MetricsPoint{Minute: m.Add(time.Duration(min) * time.Minute), CPUPercentAvg: cpu, CPUPercentMax: cpu * 2, DiskFreeBytesMin: disk}
	}
	labels, cpu, cpuMax, _, _, disk := metricsSeries([]runners.MetricsPoint{p(0, 10, 4<<30), p(3, 20, 2<<30)})
	if len(labels) != 4 || labels[3] != "10:03" || cpu[0] != 10 || !math.IsNaN(cpu[1]) || cpu[3] != 20 || cpuMax[3] != 40 || disk[3] != 2 {
		t.Errorf("minutes: %v %v %v", labels, cpu, disk)
	}
	// over 3 hours: 10-minute slots averaging the averages, the highest maximum, the least disk
	labels, cpu, cpuMax, _, _, disk = metricsSeries([]runners.MetricsPoint{p(0, 10, 4<<30), p(5, 30, 1<<30), p(240, 50, 3<<30)})
	if len(labels) != 25 || labels[1] != "10:10" || cpu[0] != 20 || cpuMax[0] != 60 || disk[0] != 1 || !math.IsNaN(cpu[1]) || cpu[24] != 50 {
		t.Errorf("10-minute slots: %d %v %v %v", len(labels), cpu, cpuMax, disk)
	}
}
