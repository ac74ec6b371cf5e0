package job

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
)

// reapBatch is how many jobs one reap looks at most; reconcileBatch how
// many pending jobs one reconcile step reads.
const (
	reapBatch      = 500
	reconcileBatch = 1000
)

// Reap ends the leases that expired and the jobs that ran out of time: a
// job whose runner was lost goes back to pending at the next attempt (and
// into its queue), or fails with runner_lost after max_attempts; one whose
// cancel was asked for is canceled; one past timeout_seconds (plus the grace
// the runner has to report it) fails with timeout. It returns how many.
func (s *Service) Reap(ctx context.Context) (int, error) {
	now := s.now()
	ids, err := s.Store.ExpiredJobs(ctx, now, s.TimeoutGrace, reapBatch)
	if err != nil {
		return 0, fmt.Errorf("find expired jobs: %w", err)
	}
	n := 0
	for _, id := range ids {
		var requeue bool
		j, err := s.Store.UpdateJob(ctx, id, func(j *Job) (Change, error) {
			var ev *audit.Event
			var end *AttemptEnd
			ev, end, requeue = s.expire(j, now)
			if ev == nil && !requeue {
				return Change{}, errUnchanged // renewed or finished meanwhile
			}
			return Change{Event: ev, Ended: end}, nil
		})
		if errors.Is(err, errUnchanged) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("reap job %s: %w", id, err)
		}
		n++
		s.Meter.JobStatus(j.Status)
		if requeue {
			s.requeue(ctx, entryOf(j))
		}
	}
	return n, nil
}

// expire decides what becomes of a job whose lease or time may be over: an
// event when it finishes, requeue when it goes back to pending, and how its
// attempt ended either way.
func (s *Service) expire(j *Job, now time.Time) (*audit.Event, *AttemptEnd, bool) {
	if j.Status != StatusClaimed && j.Status != StatusRunning {
		return nil, nil, false
	}
	timedOut := j.ClaimedAt != nil && now.After(j.ClaimedAt.Add(time.Duration(j.TimeoutSeconds)*time.Second+s.TimeoutGrace))
	lost := j.LeaseExpiresAt != nil && now.After(*j.LeaseExpiresAt)
	var end *AttemptEnd
	switch {
	case timedOut:
		finish(j, now, StatusFailed, nil, runners.JobErrorTimeout)
		end = ended(j, now, runners.AttemptTimedOut, reasonTimedOut)
	case !lost:
		return nil, nil, false
	case j.CancelRequested:
		finish(j, now, StatusCanceled, nil, "")
		end = ended(j, now, runners.AttemptCanceled, reasonCanceledLost)
	case j.Status == StatusClaimed && j.UnstartedClaims < MaxUnstartedClaims:
		// Its runner never took it up: nothing ran, so no attempt is spent.
		return nil, unclaim(j, now, reasonNotStarted), true
	case j.Status == StatusClaimed || j.Attempts() >= j.MaxAttempts:
		finish(j, now, StatusFailed, nil, runners.JobErrorRunnerLost)
		end = ended(j, now, runners.AttemptRunnerLost, reasonRunnerLost)
	default:
		j.Status, j.Attempt, j.RunnerID = StatusPending, j.Attempt+1, ""
		j.LeaseExpiresAt, j.ClaimedAt, j.StartedAt = nil, nil, nil
		return nil, ended(j, now, runners.AttemptLeaseExpired, reasonLeaseExpired), true
	}
	ev := event(ActionFinish, *j, map[string]any{"status": j.Status, "error": j.Error})
	ev.Actor = audit.Actor{Type: audit.ActorSystem}
	return &ev, end, false
}

// unclaim puts j back to pending at the next attempt (which fences out the
// claim), the claim not counted as an attempt since nothing ran, and
// returns how the claim's attempt ended.
func unclaim(j *Job, now time.Time, reason string) *AttemptEnd {
	j.UnstartedClaims++
	j.Status, j.Attempt, j.RunnerID = StatusPending, j.Attempt+1, ""
	j.LeaseExpiresAt, j.ClaimedAt, j.StartedAt = nil, nil, nil
	return ended(j, now, runners.AttemptNotStarted, reason)
}

// Reconcile queues every pending job that no queue entry stands for (Redis
// lost or flushed, a crash between commit and queueing) and returns how
// many. A job queued twice is harmless: PostgreSQL lets one claim win.
//
// A job missing from the queue is read again before it is queued: one a
// claim took from the queue after the pending jobs were read is no longer
// pending once its claim commits. Queued from the first read, every such
// job left a stale entry behind (782 in one reconcile of a busy Hub), and
// waiting claims took each one and tried it in PostgreSQL in vain.
func (s *Service) Reconcile(ctx context.Context) (int, error) {
	n, after := 0, Cursor{}
	for {
		es, err := s.Store.PendingEntries(ctx, after, reconcileBatch)
		if err != nil || len(es) == 0 {
			return n, err
		}
		ids := make([]string, len(es))
		for i, e := range es {
			ids[i] = e.JobID
		}
		missing, err := s.Queue.Missing(ctx, ids)
		if err != nil {
			return n, fmt.Errorf("find unqueued jobs: %w", err)
		}
		if len(missing) > 0 {
			lost, err := s.Store.PendingNow(ctx, missing)
			if err != nil {
				return n, fmt.Errorf("read unqueued jobs again: %w", err)
			}
			if err := s.Queue.Enqueue(ctx, lost...); err != nil {
				return n, fmt.Errorf("queue %d jobs again: %w", len(lost), err)
			}
			n += len(lost)
		}
		last := es[len(es)-1]
		after = Cursor{CreatedAt: last.CreatedAt, ID: last.JobID}
	}
}

// MeasureQueues sets the queue depth gauge from PostgreSQL (the truth).
func (s *Service) MeasureQueues(ctx context.Context) error {
	counts, err := s.Store.PendingCounts(ctx)
	if err != nil {
		return err
	}
	for _, env := range runners.Environments {
		s.Meter.QueueDepth(env, counts[env])
	}
	return nil
}

// RunMaintenance reconciles the queues with PostgreSQL now and every
// ReconcileInterval — and within a ReapInterval of Redis losing them — and
// reaps and measures every ReapInterval, until ctx ends.
func (s *Service) RunMaintenance(ctx context.Context) {
	s.restore(ctx)
	reap, reconcile := time.NewTicker(ReapInterval), time.NewTicker(ReconcileInterval)
	defer reap.Stop()
	defer reconcile.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-reap.C:
			if lost, err := s.Queue.Lost(ctx); err == nil && lost {
				s.Log.WarnContext(ctx, "the job queues were lost (Redis flushed or restarted); queueing pending jobs again from PostgreSQL")
				s.restore(ctx)
			}
			s.logged(ctx, "reap jobs", s.Reap)
			s.logged(ctx, "measure job queues", func(ctx context.Context) (int, error) { return 0, s.MeasureQueues(ctx) })
		case <-reconcile.C:
			s.logged(ctx, "reconcile job queues", s.Reconcile)
		}
	}
}

// restore writes again what Redis may have lost — the claims' notes first,
// then the pending jobs' entries — and marks the queues whole once both
// are (until then a repeated claim takes nothing: it could take a second
// job while the note of its first is missing). It runs at start whether or
// not the mark is gone (a crash between a commit and its queueing leaves a
// pending job unqueued with the mark in place), and when it is.
func (s *Service) restore(ctx context.Context) {
	if s.logged(ctx, "note claims again", s.Renote) != nil || s.logged(ctx, "reconcile job queues", s.Reconcile) != nil {
		return // the mark stays missing: retried within a ReapInterval
	}
	if err := s.Queue.Mark(ctx); err != nil && ctx.Err() == nil {
		s.Log.WarnContext(ctx, "mark the job queues restored (retried)", "err", err)
	}
}

// Renote notes again the jobs that claims took up within ClaimNoteTTL and
// still run, so that a repeat of such a claim hands its job over after
// Redis lost the notes, and returns how many.
func (s *Service) Renote(ctx context.Context) (int, error) {
	now := s.now()
	ns, err := s.Store.TakenUp(ctx, now, now.Add(-ClaimNoteTTL))
	if err != nil {
		return 0, err
	}
	if err := s.Queue.Renote(ctx, ns...); err != nil {
		return 0, err
	}
	return len(ns), nil
}

// logged runs fn, logging what it did or its error, which it returns.
func (s *Service) logged(ctx context.Context, what string, fn func(context.Context) (int, error)) error {
	n, err := fn(ctx)
	if err != nil && ctx.Err() == nil {
		s.Log.WarnContext(ctx, what, "done", n, "err", err)
	} else if n > 0 {
		s.Log.InfoContext(ctx, what, "jobs", n)
	}
	return err
}
