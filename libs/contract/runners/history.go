package runners

import "time"

// Subjects of job history, runner metrics and the dashboard (user side):
// the gateway checks the OPERATOR role (or higher); the service checks it again.
const (
	// SubjectJobRerun starts a new job like an earlier one (same package,
	// version, environment, runner or labels, parameters, attempts and
	// timeout): RerunJobRequest -> Job. Audited as job.create with rerun_of.
	SubjectJobRerun = "exekra.runners.v1.jobs.rerun"
	// SubjectRunnerMetrics reads a runner's metrics history:
	// RunnerMetricsRequest -> RunnerMetricsHistory.
	SubjectRunnerMetrics = "exekra.runners.v1.runners.metrics"
	// SubjectDashboardStats reads the dashboard's figures from PostgreSQL:
	// DashboardStatsRequest -> DashboardStats.
	SubjectDashboardStats = "exekra.runners.v1.stats.dashboard"
)

// HTTP routes of job history, runner metrics and the dashboard.
const (
	PathJobRerun       = "/api/v1/jobs/:id/rerun"
	PathRunnerMetrics  = "/api/v1/runners/:id/metrics" // ?hours=N
	PathDashboardStats = "/api/v1/stats/dashboard"     // ?hours=N
)

// Bounds of the histories the runners service keeps.
const (
	// MetricsHistoryHours is how long a runner's per-minute metrics are
	// kept (one row per runner per minute: at most 1440 rows a runner).
	MetricsHistoryHours = 24
	// RunnerCountsHistoryHours is how long the per-minute counts of runners
	// online by environment are kept (at most 3 × 2880 rows).
	RunnerCountsHistoryHours = 48
	// DefaultStatsHours is the dashboard's window when none is asked for.
	DefaultStatsHours = 24
)

// Outcomes of a job attempt (JobAttempt.Outcome).
const (
	AttemptRunning      = "running"       // not over yet (claimed or running)
	AttemptSucceeded    = "succeeded"     // the runner reported success
	AttemptFailed       = "failed"        // the runner reported failure
	AttemptCanceled     = "canceled"      // stopped at a user's request
	AttemptTimedOut     = "timed_out"     // ran past timeout_seconds: the job failed with timeout
	AttemptLeaseExpired = "lease_expired" // the runner went silent; the job went back to pending for another attempt
	AttemptRunnerLost   = "runner_lost"   // the runner went silent and no attempts were left: the job failed with runner_lost
	AttemptNotStarted   = "not_started"   // the runner claimed the job but never took it up; it does not count against max_attempts
)

// AttemptOutcomes lists every attempt outcome.
var AttemptOutcomes = []string{AttemptRunning, AttemptSucceeded, AttemptFailed, AttemptCanceled, AttemptTimedOut,
	AttemptLeaseExpired, AttemptRunnerLost, AttemptNotStarted}

// JobAttempt is one claim of a job by a runner. Number is the fencing
// attempt number the runner was given; StartedAt is when the runner claimed
// the job, RunningAt when it first reported on it, EndedAt when the attempt
// ended (null while it goes on). RunnerName is the runner's name at the
// claim (kept when the runner is deleted).
type JobAttempt struct {
	Number          int        `json:"number"`
	RunnerID        string     `json:"runner_id"`
	RunnerName      string     `json:"runner_name"`
	StartedAt       time.Time  `json:"started_at"`
	RunningAt       *time.Time `json:"running_at"`
	EndedAt         *time.Time `json:"ended_at"`
	DurationSeconds *float64   `json:"duration_seconds"`
	Outcome         string     `json:"outcome"`
	Reason          string     `json:"reason"`
}

// RerunJobRequest names the job to run again; IdempotencyKey comes from
// the Idempotency-Key header, as for a start.
type RerunJobRequest struct {
	ID             string `json:"id"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// RunnerMetricsRequest reads the last Hours (1 to MetricsHistoryHours; 0
// means MetricsHistoryHours) of a runner's metrics.
type RunnerMetricsRequest struct {
	ID    string `json:"id"`
	Hours int    `json:"hours,omitempty"`
}

// RunnerMetricsHistory is a runner's metrics history, oldest minute first.
type RunnerMetricsHistory struct {
	RunnerID string         `json:"runner_id"`
	Hours    int            `json:"hours"`
	Points   []MetricsPoint `json:"points"`
}

// MetricsPoint sums up the heartbeats of one minute (Minute is its start):
// averages and maxima of the CPU and memory percentages, the least free
// disk, and how many heartbeats were counted.
type MetricsPoint struct {
	Minute           time.Time `json:"minute"`
	Samples          int       `json:"samples"`
	CPUPercentAvg    float64   `json:"cpu_percent_avg"`
	CPUPercentMax    float64   `json:"cpu_percent_max"`
	MemoryPercentAvg float64   `json:"memory_percent_avg"`
	MemoryPercentMax float64   `json:"memory_percent_max"`
	DiskFreeBytesMin int64     `json:"disk_free_bytes_min"`
}

// DashboardStatsRequest asks for the last Hours (1 to
// RunnerCountsHistoryHours; 0 means DefaultStatsHours).
type DashboardStatsRequest struct {
	Hours int `json:"hours,omitempty"`
}

// DashboardStats are the dashboard's figures over the window [From, To):
// hours are UTC hour starts, oldest first; an hour without data has no row.
type DashboardStats struct {
	Hours         int                 `json:"hours"`
	From          time.Time           `json:"from"`
	To            time.Time           `json:"to"`
	JobsFinished  []JobsFinishedHour  `json:"jobs_finished"`
	JobsWaiting   []JobsWaiting       `json:"jobs_waiting"`
	RunnersOnline []RunnersOnlineHour `json:"runners_online"`
	PickupLatency []PickupLatencyHour `json:"pickup_latency"`
}

// JobsFinishedHour counts the jobs that finished in an hour, by status.
type JobsFinishedHour struct {
	Hour      time.Time `json:"hour"`
	Succeeded int       `json:"succeeded"`
	Failed    int       `json:"failed"`
	Canceled  int       `json:"canceled"`
}

// JobsWaiting is how many jobs of an environment are pending now (every
// environment, zeros included).
type JobsWaiting struct {
	Environment string `json:"environment"`
	Jobs        int    `json:"jobs"`
}

// RunnersOnlineHour is how many runners of an environment were online
// (idle or busy) in an hour, from the per-minute samples: their average
// and maximum.
type RunnersOnlineHour struct {
	Hour        time.Time `json:"hour"`
	Environment string    `json:"environment"`
	Avg         float64   `json:"avg"`
	Max         int       `json:"max"`
}

// PickupLatencyHour is the 95th percentile of the time from a job's
// creation to its first claim, over the jobs first claimed in an hour.
type PickupLatencyHour struct {
	Hour       time.Time `json:"hour"`
	Jobs       int       `json:"jobs"`
	P95Seconds float64   `json:"p95_seconds"`
}
