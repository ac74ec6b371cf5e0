package runners

import (
	"encoding/json"
	"time"
)

// Subjects of jobs (user side). The gateway checks the OPERATOR role (or
// higher); the service checks it again.
const (
	SubjectJobCreate = "exekra.runners.v1.jobs.create" // CreateJobRequest -> Job
	// SubjectJobCreateBatch starts several jobs at once, all or none:
	// CreateJobsRequest -> CreateJobsResponse.
	SubjectJobCreateBatch = "exekra.runners.v1.jobs.create_batch"
	SubjectJobGet         = "exekra.runners.v1.jobs.get"    // JobRequest -> Job (with pending_reason when pending)
	SubjectJobList        = "exekra.runners.v1.jobs.list"   // ListJobsRequest -> ListJobsResponse
	SubjectJobCancel      = "exekra.runners.v1.jobs.cancel" // JobRequest -> Job
	SubjectJobLogs        = "exekra.runners.v1.jobs.logs"   // JobLogsRequest -> JobLogs
	// SubjectJobRerun is in history.go.
)

// Subjects of jobs (runner side): each request carries the runner's
// Credentials, checked exactly as a heartbeat's.
const (
	// SubjectClaim long-polls for a job: ClaimRequest -> ClaimResponse. The
	// caller's request timeout must exceed WaitSeconds (ClaimTimeout does).
	SubjectClaim    = "exekra.runners.v1.agent.claim"
	SubjectLogs     = "exekra.runners.v1.agent.logs"     // AgentLogsRequest -> AgentLogsResponse (renews the lease)
	SubjectComplete = "exekra.runners.v1.agent.complete" // CompleteRequest -> CompleteResponse
	// SubjectRelease gives back a job a claim handed out that never reached
	// its runner (ReleaseRequest -> ReleaseResponse): the gateway saw the
	// runner's connection close before it could answer the claim.
	SubjectRelease = "exekra.runners.v1.agent.release"
)

// Job statuses.
const (
	JobPending   = "pending"
	JobClaimed   = "claimed"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobFailed    = "failed"
	JobCanceled  = "canceled"
)

// JobStatuses lists every job status.
var JobStatuses = []string{JobPending, JobClaimed, JobRunning, JobSucceeded, JobFailed, JobCanceled}

// JobFinal reports whether status is one a job ends in (and a runner may
// report as its result): succeeded, failed or canceled.
func JobFinal(status string) bool {
	return status == JobSucceeded || status == JobFailed || status == JobCanceled
}

// Reasons a job waits (Job.PendingReason).
const (
	PendingNoRunner       = "no_runner_registered" // no runner of the environment has the labels (and id) asked for
	PendingNoneOnline     = "no_runner_online"
	PendingAllBusy        = "all_runners_busy"
	PendingLicenseExpired = "license_expired"
	PendingQueued         = "queued" // a matching runner is online and idle: it takes the job on its next claim
)

// Errors a job fails with besides the runner's own.
const (
	JobErrorRunnerLost = "runner_lost" // the lease expired max_attempts times
	JobErrorTimeout    = "timeout"     // ran longer than timeout_seconds
)

// Claim limits.
const (
	MaxClaimWaitSeconds = 60
	// ClaimTimeout is how long a caller of SubjectClaim waits for the reply.
	ClaimTimeout = (MaxClaimWaitSeconds + ClaimGraceSeconds) * time.Second
	// ClaimGraceSeconds is how much longer than its wait a claim may take.
	ClaimGraceSeconds = 5
)

// Headers of job requests (additions to docs/api.md, both optional).
const (
	// HeaderIdempotencyKey on POST /api/v1/jobs: a client retrying a
	// create whose reply it lost sends the same key and gets the same job.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderClaimID on a claim: the agent's id for it, kept while it retries.
	HeaderClaimID = "Exekra-Claim-Id"
	// HeaderCancelRequested ("true") on the 204 of a log upload: the Hub
	// wants the job stopped (the heartbeat reply says so too).
	HeaderCancelRequested = "Exekra-Cancel-Requested"
	// HeaderClaimRepeat ("true") on the 204 of a claim: the Hub was too busy
	// to finish the claim within its wait; the agent asks again at once
	// under the same claim id (a job the Hub meanwhile gave that claim comes
	// with the repeat). Not a failure: nothing to back off from.
	HeaderClaimRepeat = "Exekra-Claim-Repeat"
	// HeaderClaimFirst ("true") on a claim: this is the first time its
	// claim id is sent, so no job can have been given to it yet and the
	// Hub skips looking for one (a PostgreSQL read per claim). Repeats and
	// retries of the claim go without it.
	HeaderClaimFirst = "Exekra-Claim-First"
	// HeaderClaimStart ("true") on a claim: the claim takes the job up
	// itself, so the agent skips the take-up upload. The job comes back
	// with status JobRunning and the running lease; a Hub that does not
	// know the header answers JobClaimed (or no status), and the agent
	// takes the job up as before.
	HeaderClaimStart = "Exekra-Claim-Start"
)

// CreateJobRequest starts a job (POST /api/v1/jobs). Version "" means
// "latest"; MaxAttempts 0 means 1; TimeoutSeconds 0 means 3600.
type CreateJobRequest struct {
	Package        string          `json:"package"`
	Version        string          `json:"version,omitempty"`
	Environment    string          `json:"environment"`
	RunnerID       string          `json:"runner_id,omitempty"`
	Labels         []string        `json:"labels,omitempty"`
	Parameters     json.RawMessage `json:"parameters,omitempty"`
	MaxAttempts    int             `json:"max_attempts,omitempty"`
	TimeoutSeconds int             `json:"timeout_seconds,omitempty"`
	// IdempotencyKey comes from the Idempotency-Key header (HeaderIdempotencyKey):
	// a repeat by the same user returns the job the first request created.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// PathJobBatches starts up to MaxJobBatch jobs in one request (POST).
const PathJobBatches = "/api/v1/job-batches"

// MaxJobBatch is how many jobs one CreateJobsRequest may start.
const MaxJobBatch = 100

// CreateJobsRequest starts several jobs in one request (POST
// PathJobBatches): every job is checked as POST /api/v1/jobs checks it,
// then all are created in one transaction, or none is. IdempotencyKey comes
// from the Idempotency-Key header and covers the whole batch (a repeat
// returns the jobs the first request created); the jobs themselves carry
// none.
type CreateJobsRequest struct {
	Jobs           []CreateJobRequest `json:"jobs"`
	IdempotencyKey string             `json:"idempotency_key,omitempty"`
}

// CreateJobsResponse holds the jobs created, in the order they were asked for.
type CreateJobsResponse struct {
	Items []Job `json:"items"`
}

// Job is a job as the API shows it. RunnerID is the runner that holds (or
// last held) it, else the runner it targets; TargetRunnerID is the target.
// Attempts counts the claims made; Error is null unless it failed.
type Job struct {
	ID              string          `json:"id"`
	Package         string          `json:"package"`
	Version         string          `json:"version"`
	Environment     string          `json:"environment"`
	RunnerID        *string         `json:"runner_id"`
	TargetRunnerID  *string         `json:"target_runner_id"`
	Labels          []string        `json:"labels"`
	Parameters      json.RawMessage `json:"parameters"`
	Status          string          `json:"status"`
	PendingReason   string          `json:"pending_reason,omitempty"`
	CancelRequested bool            `json:"cancel_requested"`
	Attempts        int             `json:"attempts"`
	MaxAttempts     int             `json:"max_attempts"`
	TimeoutSeconds  int             `json:"timeout_seconds"`
	CreatedBy       string          `json:"created_by"`
	CreatedAt       time.Time       `json:"created_at"`
	StartedAt       *time.Time      `json:"started_at"`
	FinishedAt      *time.Time      `json:"finished_at"`
	ExitCode        *int            `json:"exit_code"`
	Error           *string         `json:"error"`
	// RunnerName and TargetRunnerName are the names of RunnerID and
	// TargetRunnerID (null when none, or the runner has been deleted).
	RunnerName       *string `json:"runner_name"`
	TargetRunnerName *string `json:"target_runner_name"`
	// DurationSeconds is FinishedAt - StartedAt once both are known.
	DurationSeconds *float64 `json:"duration_seconds"`
	// RerunOf is the job this one re-runs (POST /api/v1/jobs/{id}/rerun).
	RerunOf *string `json:"rerun_of"`
	// ScheduleID is the schedule that started the job (a fire or a run
	// now), ScheduleName its name (null once deleted), ScheduledFor the
	// fire time the job is for (null for a run now).
	ScheduleID   *string    `json:"schedule_id"`
	ScheduleName *string    `json:"schedule_name"`
	ScheduledFor *time.Time `json:"scheduled_for"`
	// AttemptHistory lists every claim of the job, oldest first; only
	// GET /api/v1/jobs/{id} has it (Attempts, above, is their count
	// without the claims never taken up).
	AttemptHistory *[]JobAttempt `json:"attempt_history,omitempty"`
}

// JobRequest names one job.
type JobRequest struct {
	ID string `json:"id"`
}

// ListJobsRequest pages through jobs, newest first. Limit 0 means 50; at
// most 500. RunnerID matches the holding or the targeted runner; Package
// the package's name; Since and Until (inclusive) bound the creation time;
// ScheduleID the schedule that started the job.
type ListJobsRequest struct {
	Limit       int       `json:"limit,omitempty"`
	Cursor      string    `json:"cursor,omitempty"`
	Status      string    `json:"status,omitempty"`
	Environment string    `json:"environment,omitempty"`
	RunnerID    string    `json:"runner_id,omitempty"`
	Package     string    `json:"package,omitempty"`
	Since       time.Time `json:"since,omitzero"`
	Until       time.Time `json:"until,omitzero"`
	ScheduleID  string    `json:"schedule_id,omitempty"`
}

// ListJobsResponse is one page; NextCursor is "" after the last.
type ListJobsResponse struct {
	Items      []Job  `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// JobLogsRequest reads a job's log lines after sequence number After (0:
// from the start), at most Limit (0 means 1000, the most).
type JobLogsRequest struct {
	ID    string `json:"id"`
	After int64  `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
}

// LogLine is one line of a job's log; Seq starts at 1 and has no gaps.
type LogLine struct {
	Seq     int64     `json:"seq"`
	TS      time.Time `json:"ts"`
	Stream  string    `json:"stream"`
	Message string    `json:"message"`
}

// JobLogs are log lines in order.
type JobLogs struct {
	Lines []LogLine `json:"lines"`
}

// Runner side.

// AgentRequest is what every runner-side job request carries.
type AgentRequest struct {
	Credentials
	Protocol  string `json:"protocol,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// ClaimRequest asks for a job, waiting up to WaitSeconds (0 to 60) for one.
// ClaimID (from HeaderClaimID) names the claim: asked again with the same
// id, the claim returns the job it handed out if the runner has not
// started it (its reply was lost).
type ClaimRequest struct {
	AgentRequest
	WaitSeconds int    `json:"wait_seconds"`
	ClaimID     string `json:"claim_id,omitempty"`
	// First: the claim id has not been sent before (HeaderClaimFirst).
	First bool `json:"first,omitempty"`
	// Start: the claim takes the job up (HeaderClaimStart).
	Start bool `json:"start,omitempty"`
	// Complete, when set, is a finished job's result (ClaimBody), stored
	// before the claim looks for a job; its AgentRequest is left empty.
	Complete *CompleteRequest `json:"complete,omitempty"`
}

// ClaimResponse holds the claimed job, or null when none arrived (HTTP 204).
type ClaimResponse struct {
	Job *ClaimedJob `json:"job"`
	// Completed: the claim stored the result it carried (a runners instance
	// older than results on claims leaves it out, and ignored the result).
	Completed bool `json:"completed,omitempty"`
	// Lease is the claimed job's lease as the claim set it: a release
	// (ReleaseRequest) names it, so that a job the runner has since heard
	// of (a repeat of the claim, a heartbeat, an upload) is not given back.
	Lease time.Time `json:"lease,omitzero"`
}

// ReleaseRequest gives back the job of a claim whose answer could not be
// delivered (SubjectRelease), with the runner's credentials the claim
// carried. The job goes back to pending without spending an attempt if it
// is still at Attempt, held by the runner under the claim's Lease, and has
// no log lines; otherwise nothing changes.
type ReleaseRequest struct {
	AgentRequest
	JobID   string    `json:"job_id"`
	Attempt int       `json:"attempt"`
	Lease   time.Time `json:"lease"`
}

// ReleaseResponse says whether the job went back to pending.
type ReleaseResponse struct {
	Released bool `json:"released"`
}

// ClaimedJob is a job handed to a runner. Attempt is the fencing number the
// runner sends back with its logs and completion.
type ClaimedJob struct {
	ID             string          `json:"id"`
	Package        PackageRef      `json:"package"`
	Parameters     json.RawMessage `json:"parameters"`
	TimeoutSeconds int             `json:"timeout_seconds"`
	LeaseExpiresAt time.Time       `json:"lease_expires_at"`
	Attempt        int             `json:"attempt"`
	// Assets names the assets the package declares: the agent asks for
	// their values (PathJobAssets) before it starts the job; none, none.
	Assets []string `json:"assets,omitempty"`
	// Status is JobRunning when the claim took the job up
	// (HeaderClaimStart), JobClaimed otherwise; a Hub older than the
	// header leaves it out, which means JobClaimed. A Hub that sends it
	// reads a result on a claim (ClaimBody); an older one ignores a
	// claim's body.
	Status string `json:"status,omitempty"`
}

// TakenUp reports whether the claim took the job up (HeaderClaimStart).
func (j ClaimedJob) TakenUp() bool { return j.Status == JobRunning }

// ResultOnClaim reports whether the Hub that handed out the job reads its
// result on the runner's next claim (it named the job's status).
func (j ClaimedJob) ResultOnClaim() bool { return j.Status != "" }

// PackageRef names the package a job runs.
type PackageRef struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	SHA256    string `json:"sha256"`
	SizeBytes int64  `json:"size_bytes"`
}

// AgentLogLine is one line a runner uploads; Stream is stdout or stderr.
type AgentLogLine struct {
	TS      time.Time `json:"ts"`
	Stream  string    `json:"stream"`
	Message string    `json:"message"`
}

// AgentLogsRequest uploads log lines of a job the runner holds (POST
// /api/v1/runner/jobs/{id}/logs). Attempt 0 means the current attempt.
type AgentLogsRequest struct {
	AgentRequest
	JobID   string         `json:"job_id"`
	Attempt int            `json:"attempt,omitempty"`
	Lines   []AgentLogLine `json:"lines"`
}

// AgentLogsResponse tells whether the job is to be stopped (HTTP 204 either way).
type AgentLogsResponse struct {
	CancelRequested bool `json:"cancel_requested"`
}

// CompleteRequest reports how a job ended (POST /api/v1/runner/jobs/{id}/complete):
// Status succeeded, failed or canceled. Attempt 0 means the current attempt.
type CompleteRequest struct {
	AgentRequest
	JobID    string `json:"job_id"`
	Attempt  int    `json:"attempt,omitempty"`
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	// Lines are the attempt's last log lines, appended in the completion's
	// transaction (a repeated completion does not append them again).
	Lines []AgentLogLine `json:"lines,omitempty"`
}

// CompleteResponse has no fields.
type CompleteResponse struct{}
