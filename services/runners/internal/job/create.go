package job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/google/uuid"
)

// Audit actions of jobs.
const (
	ActionCreate = "job.create"
	ActionCancel = "job.cancel"
	ActionFinish = "job.finish"
)

// Statuses (as the contract spells them).
const (
	StatusPending   = runners.JobPending
	StatusClaimed   = runners.JobClaimed
	StatusRunning   = runners.JobRunning
	StatusSucceeded = runners.JobSucceeded
	StatusFailed    = runners.JobFailed
	StatusCanceled  = runners.JobCanceled
)

// NewJob is what a user starts.
type NewJob struct {
	Package        string
	Version        string // "" or "latest": the newest version
	Environment    string
	RunnerID       string
	Labels         []string
	Parameters     json.RawMessage
	MaxAttempts    int
	TimeoutSeconds int
	// IdempotencyKey ("" : none) makes a repeat of the same request by the
	// same user return the job the first one created.
	IdempotencyKey string
	// RerunOf ("" : none) is the job this one re-runs (Rerun).
	RerunOf string
	// ScheduleID ("" : none) is the schedule starting the job, ScheduledFor
	// the fire time it is for (nil for a run now).
	ScheduleID   string
	ScheduledFor *time.Time
}

// ErrKeyTaken is the store's answer to a second job under one idempotency key.
var ErrKeyTaken = errors.New("idempotency key taken")

// Create records a pending job (OPERATOR and up, while the license allows
// new jobs) and queues it. Should queueing fail, the reconcile queues it.
// A request repeated under the same idempotency key returns the job the
// first one created (a client retrying after a lost reply starts nothing twice).
func (s *Service) Create(ctx context.Context, in NewJob) (Job, error) {
	if err := requireOperator(ctx); err != nil {
		return Job{}, err
	}
	return s.create(ctx, in, caller.ActorFromContext(ctx).ID)
}

// CreateScheduled starts the job of a schedule's fire: no user asks, so no
// role applies; it is created by "schedule:<id>", and its audit event's
// actor is whatever ctx carries (the schedules run it as the system). It is
// served in-process only, never on the bus.
func (s *Service) CreateScheduled(ctx context.Context, in NewJob) (Job, error) {
	if in.ScheduleID == "" || checkID(in.ScheduleID) != nil {
		return Job{}, errs.E(errs.InvalidArgument, "a scheduled job needs its schedule's id")
	}
	return s.create(ctx, in, "schedule:"+in.ScheduleID)
}

// Check validates in as Create would (the request, the target runner, the
// package version and the parameters against its declaration) and starts
// nothing: a schedule is checked so when it is saved.
func (s *Service) Check(ctx context.Context, in NewJob) error {
	in, err := validateNew(in)
	if err != nil {
		return err
	}
	if _, err := s.checkTarget(ctx, in); err != nil {
		return err
	}
	pkg, err := s.Store.FindPackage(ctx, in.Package, in.Version)
	if err != nil {
		return err
	}
	_, err = checkParameters(pkg.Parameters, in.Parameters)
	return err
}

func (s *Service) create(ctx context.Context, in NewJob, createdBy string) (Job, error) {
	in, err := validateNew(in)
	if err != nil {
		return Job{}, err
	}
	hash := requestHash(in)
	if j, ok, err := s.replay(ctx, createdBy, in.IdempotencyKey, hash); ok || err != nil {
		return j, err
	}
	if err := s.License.AllowJob(ctx); err != nil {
		return Job{}, err
	}
	j, err := s.build(ctx, in, createdBy, hash, s.Store.FindPackage)
	if err != nil {
		return Job{}, err
	}
	err = s.Store.CreateJob(ctx, j, event(ActionCreate, j, nil))
	if errors.Is(err, ErrKeyTaken) { // the same request, at the same moment
		if j, ok, err := s.replay(ctx, createdBy, in.IdempotencyKey, hash); ok || err != nil {
			return j, err
		}
	}
	if err != nil {
		return Job{}, fmt.Errorf("create job: %w", err)
	}
	s.Meter.JobStatus(StatusPending)
	if err := s.Queue.Enqueue(ctx, entryOf(j)); err != nil {
		s.Log.WarnContext(ctx, "queue new job (the reconcile queues it)", "job_id", j.ID, "err", err)
	}
	return j, nil
}

// findPackage resolves a package version (Store.FindPackage).
type findPackage func(ctx context.Context, name, version string) (Package, error)

// build checks a validated request against the target runner, the package
// version, its parameters and assets, and returns the pending job.
func (s *Service) build(ctx context.Context, in NewJob, createdBy, hash string, find findPackage) (Job, error) {
	targetName, err := s.checkTarget(ctx, in)
	if err != nil {
		return Job{}, err
	}
	pkg, err := find(ctx, in.Package, in.Version)
	if err != nil {
		return Job{}, err
	}
	params, err := checkParameters(pkg.Parameters, in.Parameters)
	if err != nil {
		return Job{}, err
	}
	if len(pkg.Assets) > 0 && s.Assets != nil {
		// Fail fast: a job whose runner could not get a value never starts.
		if err := s.Assets.CheckAvailable(ctx, pkg.Assets, in.Environment, in.RunnerID); err != nil {
			return Job{}, err
		}
	}
	return Job{ID: uuid.NewString(), Package: pkg, Environment: in.Environment, TargetRunnerID: in.RunnerID,
		Labels: in.Labels, Parameters: params, TimeoutSeconds: in.TimeoutSeconds, MaxAttempts: in.MaxAttempts,
		Status: StatusPending, Attempt: 1, CreatedBy: createdBy, CreatedAt: s.now(),
		IdempotencyKey: in.IdempotencyKey, RequestHash: hash, RerunOf: in.RerunOf, TargetRunnerName: targetName,
		ScheduleID: in.ScheduleID, ScheduledFor: in.ScheduledFor}, nil
}

// replay returns the job created under key, if any; a different request
// under the same key is a conflict.
func (s *Service) replay(ctx context.Context, createdBy, key, hash string) (Job, bool, error) {
	if key == "" {
		return Job{}, false, nil
	}
	j, ok, err := s.Store.JobByKey(ctx, createdBy, key)
	if err != nil || !ok {
		return Job{}, false, err
	}
	if j.RequestHash != hash {
		return Job{}, false, errs.E(errs.Conflict, "this Idempotency-Key was used for a different job; use a new key for a new job")
	}
	return j, true, nil
}

// requestHash identifies a validated request (its key aside).
func requestHash(in NewJob) string {
	in.IdempotencyKey = ""
	data, _ := json.Marshal(in) // a struct of strings, numbers and a valid raw object
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// checkTarget refuses a target runner that could never run the job, and
// returns its name.
func (s *Service) checkTarget(ctx context.Context, in NewJob) (string, error) {
	if in.RunnerID == "" {
		return "", nil
	}
	r, err := s.Runners.RunnerByID(ctx, in.RunnerID)
	if errs.Is(err, errs.NotFound) {
		return "", errs.E(errs.InvalidArgument, "runner_id names no registered runner")
	}
	if err != nil {
		return "", err
	}
	if r.Environment != in.Environment || !subset(in.Labels, r.Labels) {
		return "", errs.E(errs.InvalidArgument, "the runner named by runner_id is not of this environment or lacks some of the labels")
	}
	return r.Name, nil
}

// Cancel cancels a pending job at once; a claimed or running one is marked,
// and its runner hears it in its next heartbeat reply (or log upload).
func (s *Service) Cancel(ctx context.Context, id string) (Job, error) {
	if err := firstError(requireOperator(ctx), checkID(id)); err != nil {
		return Job{}, err
	}
	now := s.now()
	j, err := s.Store.UpdateJob(ctx, id, func(j *Job) (Change, error) {
		switch {
		case j.Terminal():
			return Change{}, errs.Ef(errs.Conflict, "the job has already %s", j.Status)
		case j.Status == StatusPending:
			j.Status, j.FinishedAt = StatusCanceled, &now
		default:
			j.CancelRequested = true
		}
		ev := event(ActionCancel, *j, map[string]any{"status": j.Status})
		return Change{Event: &ev}, nil
	})
	if err != nil {
		return Job{}, fmt.Errorf("cancel job %s: %w", id, err)
	}
	if shown, err := s.Store.JobByID(ctx, id); err == nil {
		j = shown // with the names UpdateJob leaves out
	} else {
		s.Log.WarnContext(ctx, "read a canceled job to show it", "job_id", id, "err", err)
	}
	if j.Status == StatusCanceled {
		s.Meter.JobStatus(StatusCanceled)
		if err := s.Queue.Remove(ctx, j.Environment, j.ID); err != nil {
			s.Log.WarnContext(ctx, "remove canceled job from its queue (a claim skips it)", "job_id", j.ID, "err", err)
		}
	}
	return j, nil
}

// event is an audit event about a job; the actor is taken from ctx unless set.
func event(action string, j Job, details map[string]any) audit.Event {
	if details == nil {
		details = map[string]any{}
	}
	details["package"], details["version"], details["environment"] = j.Package.Name, j.Package.Version, j.Environment
	details["attempt"] = j.Attempt
	if j.RerunOf != "" {
		details["rerun_of"] = j.RerunOf
	}
	if j.ScheduleID != "" {
		details["schedule_id"] = j.ScheduleID
	}
	if j.ScheduledFor != nil {
		details["scheduled_for"] = j.ScheduledFor.UTC().Format(time.RFC3339Nano)
	}
	return audit.Event{Action: action, Target: audit.Target{Type: "job", ID: j.ID}, Details: details}
}

// subset reports whether every label of want is in have.
func subset(want, have []string) bool {
	for _, l := range want {
		if !slices.Contains(have, l) {
			return false
		}
	}
	return true
}

// normalizeParameters makes absent or null parameters an empty object and
// refuses anything but an object of text jsonb can hold: they are stored as
// they came, so a string Go's decoder would have mended (a lone surrogate)
// still reaches PostgreSQL as sent.
func normalizeParameters(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return json.RawMessage(`{}`), nil
	}
	var obj map[string]json.RawMessage
	if len(trimmed) > MaxParametersBytes || json.Unmarshal(trimmed, &obj) != nil || !strings.HasPrefix(string(trimmed), "{") {
		return nil, errs.Ef(errs.InvalidArgument, "parameters must be a JSON object of at most %d bytes", MaxParametersBytes)
	}
	if err := text.CheckJSON("parameters", trimmed); err != nil {
		return nil, err
	}
	return json.RawMessage(trimmed), nil
}

func firstError(list ...error) error {
	for _, err := range list {
		if err != nil {
			return err
		}
	}
	return nil
}
