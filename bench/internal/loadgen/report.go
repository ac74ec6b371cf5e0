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

// JobsReport is what the jobs scenario measured.
type JobsReport struct {
	Runners     int    `json:"runners"`
	Package     string `json:"package"`
	Version     string `json:"version"`
	Environment string `json:"environment"`
	Download    bool   `json:"download"`
	// ClaimStart: the runners' claims took their jobs up (Exekra-Claim-Start),
	// as the agent's do.
	ClaimStart bool                      `json:"claim_start"`
	Pickup     PickupReport              `json:"pickup"`
	Throughput ThroughputReport          `json:"throughput"`
	Verify     Verification              `json:"verify"`
	Errors     map[string]map[string]int `json:"errors"` // operation -> HTTP status (or "network") -> count
	// RepeatedClaims are claims the Hub was too busy to finish in time and
	// asked to be repeated under their id (204 Exekra-Claim-Repeat): slower, not errors.
	RepeatedClaims int `json:"repeated_claims"`
}

// PickupReport measures jobs created one at a time while every runner waits.
type PickupReport struct {
	Jobs     int           `json:"jobs"`
	Every    time.Duration `json:"every_ns"`
	Create   Result        `json:"create"`           // request sent -> 201 received
	Pickup   Result        `json:"pickup"`           // request sent -> claim reply at the runner
	After201 Result        `json:"pickup_after_201"` // 201 received -> claim reply at the runner, clamped at 0
	Clamped  int           `json:"clamped"`          // jobs the runner held before the creator held the 201
	HubCPU   float64       `json:"hub_cpu_seconds"`
}

// ThroughputReport measures jobs created as fast as the clients can.
type ThroughputReport struct {
	Clients          int           `json:"clients"`
	CreateBatch      int           `json:"create_batch"` // jobs per create request (1: POST /api/v1/jobs)
	Created          int           `json:"created"`
	Finished         int           `json:"finished"`
	Elapsed          time.Duration `json:"elapsed_ns"`      // first create sent -> last job finished (the Hub's finished_at)
	JobsPerSecond    float64       `json:"jobs_per_second"` // Finished / Elapsed
	CreatesPerSecond float64       `json:"creates_per_second"`
	Create           Result        `json:"create"`     // request sent -> 201 received
	Turnaround       Result        `json:"turnaround"` // request sent -> the job's finished_at in the Hub
	HubCPU           float64       `json:"hub_cpu_seconds"`
	CPUPer1000       float64       `json:"hub_cpu_ms_per_1000_jobs"`
	// TreeCPU is what every program under the Hub's process spent over the
	// part, in seconds (PostgreSQL and Redis too); CPUPerJob its total per
	// finished job, in ms (0: not measured).
	TreeCPU   map[string]float64 `json:"tree_cpu_seconds,omitempty"`
	CPUPerJob float64            `json:"cpu_ms_per_job,omitempty"`
	// PostgresPerJob is the WAL PostgreSQL wrote and the transactions it
	// committed over the part, per finished job (nil: not measured).
	PostgresPerJob *WALPerJob `json:"postgres_per_job,omitempty"`

	made []creation    // the jobs created
	took time.Duration // the part's whole length
	wal  *[2]WALStats  // PostgreSQL's counters before and after the part
}

// Verification is the status of every created job, read back through the API.
type Verification struct {
	Checked      int            `json:"checked"`
	Succeeded    int            `json:"succeeded"`
	NotSucceeded int            `json:"not_succeeded"`
	Statuses     map[string]int `json:"statuses"` // "unreadable": the read failed

	finished map[string]time.Time // the succeeded jobs' finished_at, by id
}

// PrintJobs writes the jobs report as tables and as JSON.
func PrintJobs(w io.Writer, r JobsReport) {
	dl := "on"
	if !r.Download {
		dl = "off"
	}
	start := "off (a log upload takes each job up, as the agent with a Hub older than Exekra-Claim-Start)"
	if r.ClaimStart {
		start = "on (as the agent: Exekra-Claim-Start, each claim takes its job up)"
	}
	fmt.Fprintf(w, "jobs scenario: %d runners in %s, package %s %s, download %s, claims taking jobs up %s\n\n",
		r.Runners, r.Environment, r.Package, r.Version, dl, start)

	p := r.Pickup
	fmt.Fprintf(w, "pickup: %d jobs created one at a time, every %s, every runner waiting; Hub CPU %.2fs\n", p.Jobs, p.Every, p.HubCPU)
	table(w, p.Create, p.Pickup, p.After201)
	fmt.Fprintf(w, "pickup-201 is measured from the 201: %d of %d runners held the job before the creator held the 201 (counted as 0)\n\n",
		p.Clamped, p.After201.Requests-p.After201.Errors)

	t := r.Throughput
	batches := ""
	if t.CreateBatch > 1 {
		batches = fmt.Sprintf(" in batches of %d", t.CreateBatch)
	}
	fmt.Fprintf(w, "throughput: %d clients created %d jobs%s (%.1f/s); %d succeeded in %s: %.1f jobs/s created→succeeded (target ≥ 1,000: %s); Hub CPU %.2fs (%.1f ms per 1000 jobs)\n",
		t.Clients, t.Created, batches, t.CreatesPerSecond, t.Finished, t.Elapsed.Round(time.Millisecond), t.JobsPerSecond,
		metText(t.JobsPerSecond >= 1000 && t.Finished == t.Created), t.HubCPU, t.CPUPer1000)
	table(w, t.Create, t.Turnaround)
	if t.CPUPerJob > 0 {
		fmt.Fprintf(w, "CPU per job, every program of the Hub (from /proc): %.2f ms (%s); target ≤ %.0f ms: %s\n",
			t.CPUPerJob, CPUBreakdown(t.TreeCPU, t.Finished), JobCPUTarget, metText(t.CPUPerJob <= JobCPUTarget))
	}
	if pg := t.PostgresPerJob; pg != nil {
		fmt.Fprintf(w, "PostgreSQL per job: %.0f bytes of WAL, %.2f transactions that wrote\n", pg.Bytes, pg.Transactions)
	}

	v := r.Verify
	fmt.Fprintf(w, "\nverify: %d jobs read back through the API: %d succeeded, %d not%s\n", v.Checked, v.Succeeded, v.NotSucceeded, statusSummary(v.Statuses))
	fmt.Fprintf(w, "errors (not 2xx, by operation): %s; claims the busy Hub asked to repeat: %d\n", errorSummary(r.Errors), r.RepeatedClaims)
	data, _ := json.Marshal(r)
	fmt.Fprintf(w, "%s\n", data)
}

func table(w io.Writer, results ...Result) {
	fmt.Fprintln(w, header())
	for _, r := range results {
		fmt.Fprintln(w, row(r))
	}
}

// statusSummary lists the statuses other than succeeded: " (failed 2, running 1)".
func statusSummary(statuses map[string]int) string {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(statuses)) {
		if s != runners.JobSucceeded {
			parts = append(parts, fmt.Sprintf("%s %d", s, statuses[s]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// errorSummary reads "claim 503×2 network×1; logs 409×1", or "none".
func errorSummary(errs map[string]map[string]int) string {
	var ops []string
	for _, op := range slices.Sorted(maps.Keys(errs)) {
		var reasons []string
		for _, reason := range slices.Sorted(maps.Keys(errs[op])) {
			reasons = append(reasons, fmt.Sprintf("%s×%d", reason, errs[op][reason]))
		}
		ops = append(ops, op+" "+strings.Join(reasons, " "))
	}
	if len(ops) == 0 {
		return "none"
	}
	return strings.Join(ops, "; ")
}

// metText is a target's verdict as the reports print it.
func metText(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}
