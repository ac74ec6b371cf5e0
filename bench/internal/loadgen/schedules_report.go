package loadgen

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// FireLagTarget is the target of the schedules scenario: the p99 of the
// lag from a fire time to its job's creation, on a 2-core machine.
const FireLagTarget = 2 * time.Second

// SchedulesReport is what the schedules scenario measured.
type SchedulesReport struct {
	Schedules   int    `json:"schedules"`
	Package     string `json:"package"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Concurrency string `json:"concurrency"`
	// Clients created the schedules at once; CreatesPerSecond is created
	// schedules over first request sent -> last 201.
	Clients          int     `json:"clients"`
	Created          int     `json:"created"`
	Create           Result  `json:"create"` // request sent -> 201 received
	CreatesPerSecond float64 `json:"creates_per_second"`
	// The fires measured are those due in [Since, Until].
	Since   time.Time     `json:"since"`
	Until   time.Time     `json:"until"`
	Window  time.Duration `json:"window_ns"`
	Offered float64       `json:"offered_per_second"` // schedules' fires per second (created / 60)
	Check   FireCheck     `json:"check"`
	// Lag is fire time -> job created, of the job_created fires (the other
	// fires of the window are its errors).
	Lag            Result  `json:"lag"`
	FiresPerSecond float64 `json:"fires_per_second"` // job_created fires over the window
	// HubCPU is what the Hub's processes (their process_cpu_seconds_total)
	// spent over the window; CPUPerFire is it per job_created fire, in ms.
	HubCPU     float64 `json:"hub_cpu_seconds"`
	CPUPerFire float64 `json:"hub_cpu_ms_per_fire"`
	// RestCores is what the Hub's processes spent per second before the
	// schedules existed (0: not measured); NetCPUPerFire is CPUPerFire less
	// that rest over the window: what the fires themselves cost.
	RestCores     float64 `json:"hub_cpu_at_rest_cores"`
	NetCPUPerFire float64 `json:"hub_cpu_ms_per_fire_above_rest"`
	// TreeCPU is what every program under the Hub's process (--hub-pid,
	// from /proc) spent over the window, in seconds: PostgreSQL and Redis
	// beside the services.
	TreeCPU map[string]float64 `json:"tree_cpu_seconds,omitempty"`
	// Deleted schedules afterwards, and those that could not be.
	Deleted       int                       `json:"deleted"`
	DeleteFailed  int                       `json:"delete_failed"`
	DeleteError   string                    `json:"delete_error,omitempty"` // the first schedule that could not be deleted, and why
	Errors        map[string]map[string]int `json:"errors"`
	TargetP99     time.Duration             `json:"target_p99_ns"`
	TargetMet     bool                      `json:"target_met"`
	FireErrorsSum int                       `json:"fire_errors"` // fires not job_created + missing + duplicated + unexpected
}

// Finish fills the figures that follow from the fires read back (in the
// window, of the scenario's schedules) and the CPU spent.
func (r *SchedulesReport) Finish(fires []runners.ScheduleFire, seconds map[string]int, hubCPU float64, tree map[string]float64) {
	r.Check = CheckFires(fires, seconds, r.Since, r.Until)
	lags, without := FireLags(InWindow(fires, seconds, r.Since, r.Until))
	r.Lag = summarize("fire-lag", lags, without, r.Window)
	r.FiresPerSecond = Ratio(float64(len(lags)), r.Window.Seconds())
	r.HubCPU, r.TreeCPU = hubCPU, tree
	r.CPUPerFire = PerThousand(hubCPU, len(lags)) / 1000
	r.NetCPUPerFire = PerThousand(max(hubCPU-r.RestCores*r.Window.Seconds(), 0), len(lags)) / 1000
	c := r.Check
	r.FireErrorsSum = without + c.Missing + c.Duplicated + c.Unexpected
	r.TargetP99 = FireLagTarget
	r.TargetMet = r.FireErrorsSum == 0 && len(lags) > 0 && r.Lag.P99 < FireLagTarget
}

// PrintSchedules writes the schedules report as tables and as JSON.
func PrintSchedules(w io.Writer, r SchedulesReport) {
	fmt.Fprintf(w, "schedules scenario: %d schedules in %s (cron \"S * * * * *\", S = i mod 60: %.0f fires each second), package %s %s, concurrency %s; no runner takes their jobs\n\n",
		r.Schedules, r.Environment, r.Offered, r.Package, r.Version, r.Concurrency)
	fmt.Fprintf(w, "create: %d clients created %d schedules (%.1f/s)\n", r.Clients, r.Created, r.CreatesPerSecond)
	table(w, r.Create)
	c := r.Check
	fmt.Fprintf(w, "\nfires due %s – %s (%s): expected %d, found %d (%s); missing %d, duplicated %d, not due %d, run now %d; %d schedules short of a fire\n",
		r.Since.Format(time.TimeOnly), r.Until.Format(time.TimeOnly), r.Window, c.Expected, c.Found, outcomeSummary(c.Outcomes),
		c.Missing, c.Duplicated, c.Unexpected, c.Manual, c.SchedulesShort)
	fmt.Fprintf(w, "%.1f fires/s with a job (offered %.1f/s); Hub CPU %.2fs = %.2f CPU-ms per fire (%.2f above the Hub's rest of %.3f cores)%s\n",
		r.FiresPerSecond, r.Offered, r.HubCPU, r.CPUPerFire, r.NetCPUPerFire, r.RestCores, treeSummary(r.TreeCPU, r.Lag.Requests-r.Lag.Errors))
	table(w, r.Lag)
	met := "not met"
	if r.TargetMet {
		met = "met"
	}
	fmt.Fprintf(w, "target: fire lag p99 < %s on a 2-core machine, every fire made: %s (p99 %s, %d fires not made)\n",
		r.TargetP99, met, r.Lag.P99.Round(time.Millisecond), r.FireErrorsSum)
	fmt.Fprintf(w, "afterwards: %d schedules deleted (%d could not be%s); the jobs they started stay pending in %s\n",
		r.Deleted, r.DeleteFailed, deleteNote(r), r.Environment)
	fmt.Fprintf(w, "errors (not 2xx, by operation): %s\n", errorSummary(r.Errors))
	data, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", data)
}

// deleteNote is ": <first error>; they go on firing" when some schedules
// could not be deleted.
func deleteNote(r SchedulesReport) string {
	if r.DeleteFailed == 0 {
		return ""
	}
	return ": " + r.DeleteError + "; they go on firing"
}

// outcomeSummary reads "job_created 29990, failed 10", or "none".
func outcomeSummary(outcomes map[string]int) string {
	var parts []string
	for _, o := range slices.Sorted(maps.Keys(outcomes)) {
		parts = append(parts, fmt.Sprintf("%s %d", o, outcomes[o]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// treeSummary reads "; PostgreSQL 0.81, Redis 0.05 CPU-ms per fire (from /proc)"
// for the programs outside the Hub's metrics, or "" without them.
func treeSummary(tree map[string]float64, fires int) string {
	if len(tree) == 0 || fires <= 0 {
		return ""
	}
	var parts []string
	for _, p := range []struct{ name, label string }{{"postgres", "PostgreSQL"}, {"redis-server", "Redis"}} {
		if s, ok := tree[p.name]; ok {
			parts = append(parts, fmt.Sprintf("%s %.2f", p.label, s*1000/float64(fires)))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ") + " CPU-ms per fire (from /proc)"
}

// SchedulesRows are the schedules scenario's rows of the bench table:
// schedule-create (closed, the clients at once: request -> 201) and
// schedule-fire (open, the rate the schedules offer: its p50/p99 are the
// lag from a fire time to its job's creation, its requests the fires due,
// its errors the fires not made, its CPU per 1,000 fires made).
func SchedulesRows(r SchedulesReport) []BenchRow {
	create := BenchRowOf(r.Create, fmt.Sprintf("closed %d", r.Clients), true)
	create.Operation, create.PerSecond = "schedule-create", r.CreatesPerSecond
	made := r.Lag.Requests - r.Lag.Errors
	fire := BenchRow{Operation: "schedule-fire", Load: fmt.Sprintf("open %.0f/s", r.Offered),
		Requests: r.Check.Expected, Errors: r.FireErrorsSum, PerSecond: r.FiresPerSecond,
		P50: r.Lag.P50, P99: r.Lag.P99, HubCPU: PerThousand(r.HubCPU, made)}
	return []BenchRow{create, fire}
}

// SchedulesNote is one line on the schedules part of the bench table.
func SchedulesNote(r SchedulesReport) string {
	c := r.Check
	return fmt.Sprintf("schedules: %d schedules, %d fires due in %s (%s); missing %d, duplicated %d, not due %d; %.2f CPU-ms per fire in the Hub's processes (%.2f above their rest)%s; schedules deleted %d (%d could not be%s), their jobs left pending in %s",
		r.Created, c.Expected, r.Window, outcomeSummary(c.Outcomes), c.Missing, c.Duplicated, c.Unexpected,
		r.CPUPerFire, r.NetCPUPerFire, treeSummary(r.TreeCPU, r.Lag.Requests-r.Lag.Errors), r.Deleted, r.DeleteFailed, deleteNote(r), r.Environment)
}
