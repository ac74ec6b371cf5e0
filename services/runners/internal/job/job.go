// Package job is the runners service's jobs domain: jobs recorded in
// PostgreSQL (the truth) and dispatched through a queue (Redis Streams, only
// ever transient), claimed by long poll under a fencing attempt number,
// leased, retried or failed when a runner is lost, timed out, canceled,
// logged with a per-job cap, and finished exactly once per attempt.
package job

import (
	"context"
	"encoding/json"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
)

// Job is a job as the store keeps it.
type Job struct {
	ID              string
	Package         Package
	Environment     string
	TargetRunnerID  string // "" : any runner of the environment with the labels
	Labels          []string
	Parameters      json.RawMessage
	TimeoutSeconds  int
	MaxAttempts     int
	Status          string
	Attempt         int    // fencing number of the current (or next) claim, from 1
	RunnerID        string // the runner holding (or last holding) it
	LeaseExpiresAt  *time.Time
	CancelRequested bool
	CreatedBy       string
	CreatedAt       time.Time
	ClaimedAt       *time.Time
	StartedAt       *time.Time
	FinishedAt      *time.Time
	ExitCode        *int
	Error           string
	LogSeq          int64
	LogBytes        int64
	LogTruncated    bool
	// IdempotencyKey and RequestHash let a repeated create return this job.
	IdempotencyKey string
	RequestHash    string
	// UnstartedClaims counts claims whose runner never took the job up:
	// they are not attempts (Attempt still fences them).
	UnstartedClaims int
	// RerunOf is the job this one re-runs ("" : none).
	RerunOf string
	// ScheduleID is the schedule that started the job ("" : none) and
	// ScheduledFor the fire time it is for (nil for a run now).
	ScheduleID   string
	ScheduledFor *time.Time
	// ScheduleName is the store's reading of the schedule's name ("" :
	// none, or the schedule is gone); never written.
	ScheduleName string
	// RunnerName and TargetRunnerName are the store's reading of the
	// runners' names ("" : none, or the runner is gone); never written.
	RunnerName       string
	TargetRunnerName string
}

// Attempts is how many claims the job has had, those never taken up aside.
func (j Job) Attempts() int {
	n := j.Attempt - j.UnstartedClaims
	if j.Status == StatusPending {
		n--
	}
	return n
}

// Terminal reports whether the job has finished.
func (j Job) Terminal() bool {
	return runners.JobFinal(j.Status)
}

// Package is a published package version.
type Package struct {
	Name      string
	Version   string
	SHA256    string
	SizeBytes int64
	// Parameters the package declares; nil when it declares none (a job
	// may then carry any parameters). Not kept with the job.
	Parameters []runners.Parameter
	// Assets names the assets the version declares ([] : none): the
	// runner gets their values for its scope.
	Assets []string
}

// LogLine is one line of a job's log.
type LogLine struct {
	Seq     int64
	TS      time.Time
	Stream  string
	Message string
}

// Entry is a pending job in the queue: enough to match a runner without
// asking PostgreSQL.
type Entry struct {
	JobID          string
	Attempt        int
	Environment    string
	TargetRunnerID string
	Labels         []string
	CreatedAt      time.Time // orders the reconcile; queues need not keep it
}

func entryOf(j Job) Entry {
	return Entry{JobID: j.ID, Attempt: j.Attempt, Environment: j.Environment, TargetRunnerID: j.TargetRunnerID, Labels: j.Labels,
		CreatedAt: j.CreatedAt}
}

// Claim is a fenced claim of an entry by a runner.
type Claim struct {
	Entry
	RunnerID     string
	RunnerLabels []string
	ClaimID      string // the agent's id for this claim ("" : none)
	Now          time.Time
	LeaseUntil   time.Time
	Start        bool // the claim takes the job up: running from Now
}

// Renewal is the lease a repeated claim gives the job it finds: Claimed
// for a job claimed and not taken up, Running for one its claim took up.
type Renewal struct {
	Claimed, Running time.Time
}

// Change is what an UpdateFunc asks the store to write besides the job.
type Change struct {
	Event *audit.Event // recorded in the same transaction when not nil
	Lines []LogLine    // appended to the job's log
	// Ended ends the attempt the job was at (before the change) when not nil.
	Ended *AttemptEnd
}

// UpdateFunc changes a job the store has locked; an error rolls back.
type UpdateFunc func(j *Job) (Change, error)

// Query selects jobs, newest first.
type Query struct {
	Status       string
	Environment  string
	RunnerID     string
	Package      string
	Since, Until time.Time // creation time, inclusive; zero: unbounded
	ScheduleID   string    // "" : any
	After        *Cursor
	Limit        int
}

// Cursor is the position after the last job of a page.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Touched is a job a heartbeat named.
type Touched struct {
	ID              string
	WasClaimed      bool // it just became running
	CancelRequested bool
}

// Store keeps jobs in PostgreSQL. Errors carry errs kinds (NotFound).
type Store interface {
	// FindPackage returns a published version; "latest" is the highest by
	// semver precedence (as the package list shows it).
	FindPackage(ctx context.Context, name, version string) (Package, error)
	// CreateJob records j; ErrKeyTaken when its creator has a job under
	// the same idempotency key.
	CreateJob(ctx context.Context, j Job, ev audit.Event) error
	// CreateJobs is CreateJob for several jobs, evs[i] with js[i], all or none.
	CreateJobs(ctx context.Context, js []Job, evs []audit.Event) error
	// JobByKey returns the job its creator made under an idempotency key.
	JobByKey(ctx context.Context, createdBy, key string) (Job, bool, error)
	JobByID(ctx context.Context, id string) (Job, error)
	ListJobs(ctx context.Context, q Query) ([]Job, error)
	// ClaimJob moves the entry's job from pending to claimed by c.RunnerID
	// (running, with c.Start) if it is still pending at c.Attempt and the
	// runner matches; false when not.
	ClaimJob(ctx context.Context, c Claim) (Job, bool, error)
	// ClaimedWith returns the job the runner claimed under claimID if it
	// still holds it, claimed and not yet started; with started, also the
	// job jobID ("" : none), running since that claim took it up. It renews
	// the job's lease to r's time for its status.
	ClaimedWith(ctx context.Context, runnerID, claimID, jobID string, started bool, r Renewal) (Job, bool, error)
	// UpdateJob locks the job, lets fn change it and writes it with fn's
	// change. The job fn sees and UpdateJob returns has no names (runner,
	// target runner, schedule) and no package assets: read it again to show it.
	UpdateJob(ctx context.Context, id string, fn UpdateFunc) (Job, error)
	// TouchJobs renews the leases of the runner's claimed and running jobs
	// among ids and makes the claimed ones running.
	TouchJobs(ctx context.Context, runnerID string, ids []string, now, leaseUntil time.Time) ([]Touched, error)
	Logs(ctx context.Context, id string, after int64, limit int) ([]LogLine, error)
	// ExpiredJobs lists claimed or running jobs whose lease ended before now
	// or whose timeout (from the claim, plus grace) passed.
	ExpiredJobs(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]string, error)
	// PendingEntries lists pending jobs after the cursor (zero: from the
	// start), oldest first.
	PendingEntries(ctx context.Context, after Cursor, limit int) ([]Entry, error)
	// PendingNow lists the jobs among ids that are pending now, as entries,
	// oldest first.
	PendingNow(ctx context.Context, ids []string) ([]Entry, error)
	// PendingCounts counts pending jobs by environment.
	PendingCounts(ctx context.Context) (map[string]int, error)
	// TakenUp lists the running jobs with live leases (at now) that claims
	// took up since since (Claim.Start), by claim.
	TakenUp(ctx context.Context, now, since time.Time) ([]Noted, error)
	// Attempts lists a job's attempts, oldest first. ClaimJob records an
	// attempt, TouchJobs and UpdateJob note when it runs, and UpdateJob
	// ends it with a change's Ended.
	Attempts(ctx context.Context, jobID string) ([]Attempt, error)
}

// Queue dispatches pending jobs: one stream per environment. It holds only
// transient state; PostgreSQL decides who gets a job.
type Queue interface {
	Enqueue(ctx context.Context, es ...Entry) error
	// Take removes and returns the oldest entry of the environment that the
	// runner may run (its id, or none; labels a subset of its labels); left
	// tells whether entries remain in the environment after it (for others).
	// With note.ClaimID (given for a claim that takes its job up), the
	// queue notes which job that claim of the runner took, for a while
	// (ClaimNoteTTL): a repeat of the claim finds the job by that. A claim takes
	// one job at most, however many instances serve it (the agent repeats a
	// claim whose answer it lost, the gateway sends one whose instance fell
	// silent to another): while its note names a job that is not queued
	// again, nor note.Replace, Take takes nothing and returns the note as
	// Taken.Held.
	Take(ctx context.Context, environment, runnerID string, labels []string, note Note) (Taken, error)
	// Remove drops a job's entry (a canceled job).
	Remove(ctx context.Context, environment, jobID string) error
	// Missing returns those of ids that no entry stands for.
	Missing(ctx context.Context, ids []string) ([]string, error)
	// Lost reports whether the queues lost everything (Redis flushed, or
	// restarted without its data) since Mark: the claim notes too. While
	// they are lost, Take takes nothing for a repeated claim with a note
	// (Note.Repeat): the job it took may be noted again (Renote).
	Lost(ctx context.Context) (bool, error)
	// Mark records that the queues and notes are whole again.
	Mark(ctx context.Context) error
	// Renote notes again, for ClaimNoteTTL, jobs that claims took, unless
	// the claim notes one already.
	Renote(ctx context.Context, ns ...Noted) error
	// Watch calls wake with an environment and how many entries were added
	// to it (by any instance) whenever some were, until ctx ends.
	Watch(ctx context.Context, wake func(environment string, added int)) error
}

// ClaimNoteTTL is how long the queue notes the job a claim took: far
// longer than a claim is repeated for (its wait, then the agent's retries).
const ClaimNoteTTL = 5 * time.Minute

// Note asks Queue.Take to note the job a claim takes (ClaimID "" : none).
type Note struct {
	ClaimID string
	// Repeat says the claim was sent before (not Exekra-Claim-First): it
	// may have taken a job whose note the queue lost.
	Repeat bool
	// Replace is a job the note may name that the claim does not hold (its
	// claim in PostgreSQL failed, or went to another): Take may take
	// another in its place.
	Replace Held
}

// Noted is a claim's note: the job a claim of a runner took.
type Noted struct {
	RunnerID, ClaimID string
	Held              Held
}

// Held is the job a claim took, by its queue note.
type Held struct {
	JobID   string
	Attempt int
}

// Taken is what Queue.Take did: an entry taken (OK), or none, and whether
// entries remain in the environment (for other runners); or nothing taken
// because the claim holds a job already (Held).
type Taken struct {
	Entry    Entry
	OK, Left bool
	Held     *Held
}

// Runner is a registered runner as the jobs domain sees it: who claims,
// holds and finishes jobs, and what it may run. The jobs domain does not
// authenticate runners: its callers pass the runner they authenticated.
type Runner struct {
	ID          string
	Name        string
	Environment string
	Labels      []string
}

// RunnerStatus is a runner with its status now (runners.StatusOnline, ...).
type RunnerStatus struct {
	Runner
	Status string
}

// Runners is what the jobs domain asks of the registry.
type Runners interface {
	// RunnersOf lists every runner of an environment with its status.
	RunnersOf(ctx context.Context, environment string) ([]RunnerStatus, error)
	// RunnerByID returns a registered runner (not_found when none is).
	RunnerByID(ctx context.Context, id string) (Runner, error)
}

// Assets checks, before a job starts, that the assets its package
// declares have values that could reach it.
type Assets interface {
	// CheckAvailable is asset_missing (naming the asset and environment)
	// when one of names does not exist or has no global value, none for
	// environment and none for targetRunnerID (for "": none for any runner
	// of environment).
	CheckAvailable(ctx context.Context, names []string, environment, targetRunnerID string) error
}

// License asks whether new jobs are allowed (license_required when not).
type License interface {
	AllowJob(ctx context.Context) error
}

// Meter counts what the jobs metrics show.
type Meter interface {
	JobStatus(status string)
	QueueDepth(environment string, n int)
}
