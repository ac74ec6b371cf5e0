package job

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// Claim hands runner v (authenticated by the caller) the oldest pending job it may run,
// waiting up to wait for one; nil when none came. A job queued while it
// waits is handed over at once: the instance's one watcher wakes it.
//
// claimID ("" : none) is the agent's name for this claim: should the reply
// be lost (an instance or gateway gone mid-reply), the agent asks again
// with the same id and gets the job it was given, not a lease to wait out.
// first says the agent sends claimID for the first time: no job can have
// been given to it, so none is looked for.
func (s *Service) Claim(ctx context.Context, v Runner, wait time.Duration, claimID string, first bool) (*Job, error) {
	if wait < 0 || wait > runners.MaxClaimWaitSeconds*time.Second {
		return nil, errs.Ef(errs.InvalidArgument, "wait must be from 0 to %d seconds", runners.MaxClaimWaitSeconds)
	}
	if err := checkKey("the claim id", claimID); err != nil {
		return nil, err
	}
	key := ""
	if claimID != "" {
		key = v.ID + "/" + claimID
	}
	twin := s.waiters.claimChannel(key)
	defer s.waiters.release(key, twin)
	if !first {
		if j, ok, err := s.claimedWith(ctx, v.ID, claimID); ok || err != nil {
			return j, err
		}
	}
	deadline := time.Now().Add(wait)
	var woken *waiting // the wake-up this look answers, if any
	for {
		line := s.waiters.envs.join(v.Environment)
		j, more, err := s.tryClaim(ctx, v, claimID)
		if woken != nil && more {
			// Jobs are left that this runner could not run or did not
			// get: wake the next in line for them.
			s.waiters.envs.wake(v.Environment, 2, woken.bound)
		}
		woken = nil
		if j != nil {
			s.waiters.claimed(key)
		}
		if j != nil || err != nil {
			s.waiters.envs.quit(v.Environment, line)
			return j, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			s.waiters.envs.quit(v.Environment, line)
			return nil, nil
		}
		timer := time.NewTimer(min(left, s.recheckEvery()))
		select {
		case <-line.c:
			woken = line
		case <-twin: // an orphaned wait of this claim took a job: it is this one's
			timer.Stop()
			s.waiters.envs.quit(v.Environment, line)
			j, _, err := s.claimedWith(ctx, v.ID, claimID)
			return j, err
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			s.waiters.envs.quit(v.Environment, line)
			return nil, nil
		case <-s.waiters.stopped:
			timer.Stop()
			s.waiters.envs.quit(v.Environment, line)
			return nil, nil // the instance is stopping: the agent claims again, from another
		}
		timer.Stop()
		s.waiters.envs.leave(v.Environment, line)
	}
}

// claimedWith returns the job the runner claimed under claimID and has not
// taken up yet, if any.
func (s *Service) claimedWith(ctx context.Context, runnerID, claimID string) (*Job, bool, error) {
	if claimID == "" {
		return nil, false, nil
	}
	j, ok, err := s.Store.ClaimedWith(ctx, runnerID, claimID)
	if err != nil {
		return nil, false, errs.Wrap(errs.Unavailable, "the Hub cannot look up the claim for a moment; claim again shortly", err)
	}
	if !ok {
		return nil, false, nil
	}
	return &j, true, nil
}

// tryClaim takes entries the runner may run until PostgreSQL confirms one
// (an entry may be stale: the job canceled, or queued twice by a reconcile).
func (s *Service) tryClaim(ctx context.Context, r Runner, claimID string) (*Job, bool, error) {
	for {
		e, ok, left, err := s.Queue.Take(ctx, r.Environment, r.ID, r.Labels)
		if err != nil {
			return nil, false, errs.Wrap(errs.Unavailable, "the job queue is unavailable for a moment; claim again shortly", err)
		}
		if !ok {
			return nil, left, nil
		}
		now := s.now()
		j, ok, err := s.Store.ClaimJob(ctx, Claim{Entry: e, RunnerID: r.ID, RunnerLabels: r.Labels, ClaimID: claimID, Now: now, LeaseUntil: now.Add(s.Pickup)})
		if err != nil { // the job stays pending: put its entry back
			s.requeue(context.WithoutCancel(ctx), e)
			return nil, true, fmt.Errorf("claim job %s: %w", e.JobID, err)
		}
		if ok {
			s.Meter.JobStatus(StatusClaimed)
			return &j, left, nil
		}
	}
}

// requeue puts back an entry taken but not claimed; should that fail too,
// the reconcile does it.
func (s *Service) requeue(ctx context.Context, e Entry) {
	if err := s.Queue.Enqueue(ctx, e); err != nil {
		s.Log.WarnContext(ctx, "put back a job entry (the reconcile does it)", "job_id", e.JobID, "err", err)
	}
}

// recheckEvery is how long a waiting claim waits for a wake-up before it
// looks at the queue anyway: Recheck, or longer when so many claims wait on
// this instance that their looks would pass MaxRechecks a second. A look
// without a wake-up is the safety net for one the watcher missed (its Redis
// connection failing); 25,000 runners waiting on one instance would
// otherwise look 5,000 times a second at an empty queue.
func (s *Service) recheckEvery() time.Duration {
	return max(s.Recheck, time.Duration(s.waiters.envs.waiting())*time.Second/MaxRechecks)
}

// RunWatcher wakes this instance's waiting claims whenever a job is queued
// in their environment (one Redis connection for all of them), until ctx
// ends; then every wait ends. A failed watch is retried after a pause;
// meanwhile waits look again every recheckEvery.
func (s *Service) RunWatcher(ctx context.Context) {
	defer s.waiters.stop()
	for ctx.Err() == nil {
		err := s.Queue.Watch(ctx, s.waiters.wake)
		if err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "watch job queues", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}
