package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// BenchRow is one operation of the bench scenario, set against the floor.
type BenchRow struct {
	Operation string `json:"operation"`
	// Load says how it was driven: "closed 64" (clients back to back: the
	// rate is what the Hub sustains) or "open 66/s" (a paced rate: the rate
	// is what was offered, not a capacity).
	Load      string        `json:"load"`
	Closed    bool          `json:"closed"`
	Requests  int           `json:"requests"`
	Errors    int           `json:"errors"`
	PerSecond float64       `json:"per_second"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	HubCPU    float64       `json:"hub_cpu_ms_per_1000"` // 0: not measured
	// VsFloor is PerSecond over the floor's (closed-loop rows only);
	// P99VsFloor is P99 over the floor's. 0: not comparable.
	VsFloor    float64 `json:"throughput_vs_floor"`
	P99VsFloor float64 `json:"p99_vs_floor"`
	// HubMemory is the Hub's peak memory (heartbeat row; 0: not measured).
	HubMemory int64 `json:"hub_memory_bytes,omitempty"`
	// Runners is how many simulated runners heartbeated (heartbeat row):
	// a good run at fewer than the target's is not the target met.
	Runners int `json:"runners,omitempty"`
	// CPUPerOp is every Hub program's CPU (PostgreSQL and Redis too) per
	// operation, in ms (jobs-e2e row; 0: not measured).
	CPUPerOp float64 `json:"cpu_ms_per_op,omitempty"`
	// Max is the slowest sample (failover row: the last job to reach its
	// runner after the kill; 0: not kept).
	Max time.Duration `json:"max_ns,omitempty"`
	// Moved is how many claims the killed instance held and a gateway sent
	// to another (failover row).
	Moved  int    `json:"claims_moved,omitempty"`
	Target string `json:"target,omitempty"`
	Met    string `json:"met,omitempty"` // "yes", "no", or empty without a target
}

// BenchRowOf makes a row of a measured result: its successful calls per
// second over its span (for an open load, the rate offered).
func BenchRowOf(r Result, load string, closed bool) BenchRow {
	return BenchRow{Operation: r.Operation, Load: load, Closed: closed, Requests: r.Requests, Errors: r.Errors,
		PerSecond: Throughput(r), P50: r.P50, P99: r.P99, HubCPU: r.CPUPer1000}
}

// Ratio is a over b, 0 when b is not positive.
func Ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// Target is what docs/performance.md asks of an operation.
type Target struct {
	Text string
	Met  func(BenchRow) bool
}

// HeartbeatRunnersTarget is the fleet the heartbeat target is set at.
const HeartbeatRunnersTarget = 25000

// JobCPUTarget is the most CPU a job may cost, created → succeeded, in
// every program of the Hub together (PostgreSQL and Redis too), in ms.
const JobCPUTarget = 3.0

// Targets are the performance targets by operation name.
var Targets = map[string]Target{
	"api-reads": {"≥ 80% of the floor's throughput at 64 clients", func(r BenchRow) bool { return r.VsFloor >= 0.80 }},
	"heartbeat": {"p99 < 100ms at 25,000 runners, Hub memory < 2 GiB", func(r BenchRow) bool {
		return r.Runners >= HeartbeatRunnersTarget && r.P99 > 0 && r.P99 < 100*time.Millisecond && r.HubMemory > 0 && r.HubMemory < 2<<30
	}},
	"pickup": {"p99 < 50ms with 1,000 idle runners", func(r BenchRow) bool { return r.P99 > 0 && r.P99 < 50*time.Millisecond }},
	"jobs-e2e": {"≥ 1,000 jobs/s created→succeeded, ≤ 3 CPU-ms per job in all", func(r BenchRow) bool {
		return r.PerSecond >= 1000 && r.CPUPerOp > 0 && r.CPUPerOp <= JobCPUTarget
	}},
	"failover": {"claims of a killed runners instance answered within 5s", func(r BenchRow) bool {
		return r.Moved > 0 && r.Max > 0 && r.Max < FailoverTarget
	}},
	// The schedule-fire row's p50/p99 are the lag from a fire time to its
	// job's creation; its errors are the fires not made (see SchedulesRows).
	"schedule-fire": {"lag p99 < 2s, every fire made, on 2 cores", func(r BenchRow) bool {
		return r.P99 > 0 && r.P99 < FireLagTarget
	}},
}

// CompareToFloor fills each row's ratios to floor and its target verdict.
// A row that failed any call does not meet its target.
func CompareToFloor(floor BenchRow, rows []BenchRow) []BenchRow {
	out := make([]BenchRow, len(rows))
	for i, r := range rows {
		if r.Closed {
			r.VsFloor = Ratio(r.PerSecond, floor.PerSecond)
		}
		r.P99VsFloor = Ratio(float64(r.P99), float64(floor.P99))
		if t, ok := Targets[r.Operation]; ok {
			r.Target, r.Met = t.Text, "no"
			if r.Errors == 0 && t.Met(r) {
				r.Met = "yes"
			}
		}
		out[i] = r
	}
	return out
}

// SaturationRow is the verdict of a run beside busy processes (busy > 0,
// deploy/scripts/bench.sh's BENCH_SATURATE): slower numbers are expected
// there, failures are not, so it is met only when no row of rows had an
// error and no job read back as not succeeded (notSucceeded). Its Errors
// are all of them together.
func SaturationRow(rows []BenchRow, busy, notSucceeded int) BenchRow {
	errs := notSucceeded
	for _, r := range rows {
		errs += r.Errors
	}
	row := BenchRow{Operation: "saturation", Load: fmt.Sprintf("%d busy", busy), Errors: errs,
		Target: fmt.Sprintf("0 errors in every part beside %d busy processes", busy), Met: "no"}
	if errs == 0 {
		row.Met = "yes"
	}
	return row
}

// WithSaturation is rows and, when busy > 0, their SaturationRow after them.
func WithSaturation(rows []BenchRow, busy, notSucceeded int) []BenchRow {
	if busy <= 0 {
		return rows
	}
	return append(slices.Clip(rows), SaturationRow(rows, busy, notSucceeded))
}

// HeartbeatNote is one line on the heartbeat scenario's claims and memory.
func HeartbeatNote(r Result, runners int) string {
	mem := "not measured (no --hub-pid)"
	if r.HubMemory > 0 {
		names := slices.Sorted(maps.Keys(r.HubMemoryBy))
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = fmt.Sprintf("%s %.0f", n, float64(r.HubMemoryBy[n])/(1<<20))
		}
		mem = fmt.Sprintf("%.0f MiB (%s)", float64(r.HubMemory)/(1<<20), strings.Join(parts, ", "))
	}
	return fmt.Sprintf("heartbeat: %d runners, each with a long-poll claim open (fewest open at once: %d), %d failed claims; Hub memory at peak (PSS of exekra-hub and its children): %s",
		runners, r.ClaimsOpenMin, r.ClaimErrors, mem)
}

// PrintBench writes the rows as one table, then as one JSON line.
func PrintBench(w io.Writer, rows []BenchRow) {
	fmt.Fprintf(w, "%-15s %-11s %8s %6s %9s %9s %9s %8s %9s %11s  %-4s %s\n",
		"operation", "load", "requests", "errors", "per sec", "p50", "p99", "vs floor", "p99/floor", "cpu ms/1000", "met", "target")
	for _, r := range rows {
		fmt.Fprintf(w, "%-15s %-11s %8d %6d %9.1f %9s %9s %8s %9s %11s  %-4s %s\n",
			r.Operation, r.Load, r.Requests, r.Errors, r.PerSecond, round(r.P50), round(r.P99),
			percent(r.VsFloor), times(r.P99VsFloor), cpu(r.HubCPU), dash(r.Met), r.Target)
	}
	data, _ := json.Marshal(map[string]any{"bench": rows})
	fmt.Fprintf(w, "%s\n", data)
}

func round(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }

func percent(f float64) string {
	if f == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", f*100)
}

func times(f float64) string {
	if f == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f×", f)
}

func cpu(ms float64) string {
	if ms == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", ms)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
