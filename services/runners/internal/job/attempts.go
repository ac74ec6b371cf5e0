package job

import (
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// Attempt is one claim of a job by a runner: Number is the fencing attempt
// number at the claim, StartedAt the claim, RunningAt the runner's first
// word about the job, EndedAt its end (nil while it goes on).
type Attempt struct {
	Number     int
	RunnerID   string
	RunnerName string // at the claim
	StartedAt  time.Time
	RunningAt  *time.Time
	EndedAt    *time.Time
	Outcome    string // runners.Attempt*
	Reason     string
}

// AttemptEnd is how an attempt ended, at At.
type AttemptEnd struct {
	At      time.Time
	Outcome string // runners.Attempt* but AttemptRunning
	Reason  string
}

// Reasons the Hub gives when it ends an attempt.
const (
	reasonTimedOut     = "ran past timeout_seconds"
	reasonCanceledLost = "the runner went silent after the job was asked to stop"
	reasonNotStarted   = "the runner claimed the job and never took it up"
	reasonNotReceived  = "the runner's connection closed before the claim's answer reached it"
	reasonLeaseExpired = "the runner went silent: its lease expired"
	reasonRunnerLost   = "the runner went silent and no attempts were left"
)

// ended is the end of j's attempt at now with outcome, j's error the reason
// unless one is given.
func ended(j *Job, now time.Time, outcome, reason string) *AttemptEnd {
	if reason == "" {
		reason = j.Error
	}
	return &AttemptEnd{At: now, Outcome: outcome, Reason: reason}
}

// outcomeOf is the attempt outcome of a status a runner reports.
func outcomeOf(status string) string {
	switch status {
	case StatusSucceeded:
		return runners.AttemptSucceeded
	case StatusCanceled:
		return runners.AttemptCanceled
	}
	return runners.AttemptFailed
}
