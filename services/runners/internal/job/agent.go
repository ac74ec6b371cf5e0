package job

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/google/uuid"
)

// Log streams a runner uploads.
const (
	StreamStdout = "stdout"
	StreamStderr = "stderr"
)

// errUnchanged rolls back an update that finds nothing to do.
var errUnchanged = errors.New("unchanged")

// AppendLogs appends lines to the log of a job runner v (authenticated by
// the caller) holds at attempt
// (0: the current one), renews its lease and makes a claimed job running.
// Past the log cap one "[log truncated]" line is written and later lines
// are dropped (the upload still succeeds). It reports whether the job is
// to be stopped.
func (s *Service) AppendLogs(ctx context.Context, v Runner, id string, attempt int, lines []LogLine) (bool, error) {
	if err := firstError(checkID(id), validateLines(lines)); err != nil {
		return false, err
	}
	now := s.now()
	var started bool
	j, err := s.Store.UpdateJob(ctx, id, func(j *Job) (Change, error) {
		if err := holds(j, v.ID, attempt); err != nil {
			return Change{}, err
		}
		started = s.start(j, now)
		return Change{Lines: s.capped(j, lines, now)}, nil
	})
	if err != nil {
		return false, fmt.Errorf("append logs of job %s: %w", id, err)
	}
	if started {
		s.Meter.JobStatus(StatusRunning)
	}
	return j.CancelRequested, nil
}

// start renews j's lease and makes it running if it was claimed.
func (s *Service) start(j *Job, now time.Time) bool {
	until := now.Add(s.Lease)
	j.LeaseExpiresAt = &until
	if j.Status != StatusClaimed {
		return false
	}
	j.Status, j.StartedAt = StatusRunning, &now
	return true
}

// capped numbers lines after j's last one, within the log cap.
func (s *Service) capped(j *Job, lines []LogLine, now time.Time) []LogLine {
	out := make([]LogLine, 0, len(lines))
	for _, l := range lines {
		if j.LogTruncated {
			break
		}
		size := int64(len(l.Message))
		if j.LogBytes+size > s.LogCap {
			j.LogTruncated, j.LogSeq = true, j.LogSeq+1
			out = append(out, LogLine{Seq: j.LogSeq, TS: now, Stream: StreamStderr, Message: Truncated})
			break
		}
		if l.TS.IsZero() {
			l.TS = now
		}
		j.LogBytes, j.LogSeq = j.LogBytes+size, j.LogSeq+1
		l.Seq, l.TS = j.LogSeq, l.TS.UTC()
		out = append(out, l)
	}
	return out
}

func validateLines(lines []LogLine) error {
	if len(lines) > MaxLogLines {
		return errs.Ef(errs.InvalidArgument, "an upload holds at most %d lines", MaxLogLines)
	}
	for i := range lines {
		l := &lines[i]
		if l.Stream != StreamStdout && l.Stream != StreamStderr {
			return errs.E(errs.InvalidArgument, "a line's stream must be stdout or stderr")
		}
		if len(l.Message) > MaxLogMessage {
			return errs.Ef(errs.InvalidArgument, "a line holds at most %d bytes", MaxLogMessage)
		}
		// PostgreSQL text holds neither NUL nor invalid UTF-8.
		l.Message = text.Mend(l.Message)
	}
	return nil
}

// holds checks that the runner holds j at attempt (0: the current one).
func holds(j *Job, runnerID string, attempt int) error {
	if attempt != 0 && attempt != j.Attempt {
		return errs.Ef(errs.Conflict, "attempt %d of this job is over (it is at attempt %d)", attempt, j.Attempt)
	}
	if j.RunnerID != runnerID {
		return errs.E(errs.PermissionDenied, "this runner does not hold the job")
	}
	if j.Terminal() {
		return errs.Ef(errs.Conflict, "the job has already %s", j.Status)
	}
	return nil
}

// Outcome is how a runner says a job ended.
type Outcome struct {
	Status   string // succeeded, failed or canceled
	ExitCode *int
	Error    string
	Lines    []LogLine // the attempt's last log lines, if any
}

// Complete finishes a job runner v (authenticated by the caller) holds at
// attempt (0: the current one), appending o.Lines to its log in the same
// transaction. A repeat for the same attempt is fine (its lines are not
// appended again); a stale attempt is a conflict.
func (s *Service) Complete(ctx context.Context, v Runner, id string, attempt int, o Outcome) error {
	if o.Status != StatusSucceeded && o.Status != StatusFailed && o.Status != StatusCanceled {
		return errs.E(errs.InvalidArgument, "status must be succeeded, failed or canceled")
	}
	if err := firstError(checkID(id), validateLines(o.Lines)); err != nil {
		return err
	}
	now := s.now()
	_, err := s.Store.UpdateJob(ctx, id, func(j *Job) (Change, error) {
		if j.Terminal() && j.RunnerID == v.ID && (attempt == 0 || attempt == j.Attempt) {
			return Change{}, errUnchanged // a retried complete
		}
		if err := holds(j, v.ID, attempt); err != nil {
			return Change{}, err
		}
		lines := s.capped(j, o.Lines, now)
		finish(j, now, o.Status, o.ExitCode, clip(text.Mend(o.Error), MaxErrorLen))
		ev := event(ActionFinish, *j, map[string]any{"status": j.Status})
		ev.Actor = audit.Actor{Type: audit.ActorRunner, ID: v.ID}
		return Change{Event: &ev, Lines: lines, Ended: ended(j, now, outcomeOf(j.Status), "")}, nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("complete job %s: %w", id, err)
	}
	s.Meter.JobStatus(o.Status)
	return nil
}

// finish ends j with status.
func finish(j *Job, now time.Time, status string, exitCode *int, msg string) {
	j.Status, j.ExitCode, j.Error, j.FinishedAt, j.LeaseExpiresAt = status, exitCode, msg, &now, nil
	if j.StartedAt == nil {
		j.StartedAt = &now
	}
}

// Heartbeat renews the leases of the runner's running jobs, makes claimed
// ones running and returns those to stop: what a heartbeat (authenticated by
// the caller) tells the jobs. A runner that names no job costs no
// PostgreSQL round trip.
func (s *Service) Heartbeat(ctx context.Context, runnerID string, running []string) ([]string, error) {
	ids := make([]string, 0, len(running))
	for _, id := range running {
		if uuid.Validate(id) == nil && len(id) == 36 {
			ids = append(ids, strings.ToLower(id))
		}
	}
	if len(ids) == 0 {
		return []string{}, nil
	}
	now := s.now()
	touched, err := s.Store.TouchJobs(ctx, runnerID, ids, now, now.Add(s.Lease))
	if err != nil {
		return nil, errs.Wrap(errs.Unavailable, "the Hub cannot record running jobs for a moment; try again shortly", err)
	}
	cancel := []string{}
	for _, t := range touched {
		if t.WasClaimed {
			s.Meter.JobStatus(StatusRunning)
		}
		if t.CancelRequested {
			cancel = append(cancel, t.ID)
		}
	}
	return cancel, nil
}

// clip shortens s to n bytes at a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
