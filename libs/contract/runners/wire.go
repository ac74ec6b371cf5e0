package runners

// HTTP bodies of the runner protocol that are not also NATS messages
// (docs/api.md "Runner protocol"). The heartbeat's body is Heartbeat and its
// reply HeartbeatResponse; a claim's reply is a ClaimedJob (200) or nothing
// (204); a package download's reply is the package's bytes.

// LogsBody is the body of POST PathJobLogs. Attempt is the claim's fencing
// number (ClaimedJob.Attempt); 0 means the current attempt.
type LogsBody struct {
	Lines   []AgentLogLine `json:"lines"`
	Attempt int            `json:"attempt"`
}

// CompleteBody is the body of POST PathJobComplete: Status is JobSucceeded,
// JobFailed or JobCanceled; ExitCode is null when the program did not exit
// on its own; Error is the runner's reason when it failed. Attempt is as in
// LogsBody. Lines, when set, are the attempt's last log lines (as in
// LogsBody, at most 1,000), stored with the result: a job whose claim
// took it up (HeaderClaimStart) and that printed little needs no log upload.
type CompleteBody struct {
	Status   string         `json:"status"`
	ExitCode *int           `json:"exit_code"`
	Error    string         `json:"error,omitempty"`
	Attempt  int            `json:"attempt"`
	Lines    []AgentLogLine `json:"lines,omitempty"`
}

// ClaimBody is the body of POST PathClaim; none (or {}) only claims.
// Complete, when set, is the result of a job this runner ran, stored as
// POST PathJobComplete stores it before the claim looks for the next job:
// a runner that finished a job and asks for the next says both in one
// request. A completion the Hub refuses answers the claim as the
// completion would (400, 403, 404, 409), and no job is claimed; a repeat
// of the claim (same claim id) repeats the completion, which is idempotent.
type ClaimBody struct {
	Complete *ClaimCompletion `json:"complete,omitempty"`
}

// ClaimCompletion is a job's result riding on a claim: CompleteBody with
// the job's id.
type ClaimCompletion struct {
	JobID string `json:"job_id"`
	CompleteBody
}
