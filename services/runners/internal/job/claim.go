package job

import (
	"context"
	"errors"
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
// been given to it, so none is looked for. start makes the claim the
// take-up: the job comes back running, with the running lease.
func (s *Service) Claim(ctx context.Context, v Runner, wait time.Duration, claimID string, first, start bool) (*Job, error) {
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
	if !first { // a job the claim took up is found by its note, as the claim takes (tryClaim)
		if j, ok, err := s.claimedWith(ctx, v.ID, claimID); ok || err != nil {
			return j, err
		}
	}
	deadline := time.Now().Add(wait)
	var woken *waiting // the wake-up this look answers, if any
	for {
		line := s.waiters.envs.join(v.Environment)
		j, more, err := s.tryClaim(ctx, v, claimID, first, start)
		if woken != nil && more {
			// Jobs are left that this runner could not run or did not
			// get: wake the next in line for them.
			s.waiters.envs.wake(v.Environment, 2, woken.bound)
		}
		woken = nil
		if errors.Is(err, errClaimSpent) { // an orphaned repeat of a claim whose job was run
			s.waiters.envs.quit(v.Environment, line)
			return nil, nil
		}
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
			if start { // found by its note at the next look, at once
				twin = nil
				break
			}
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
// taken up yet, if any, its lease renewed.
func (s *Service) claimedWith(ctx context.Context, runnerID, claimID string) (*Job, bool, error) {
	if claimID == "" {
		return nil, false, nil
	}
	return s.renewClaimed(ctx, runnerID, claimID, "", false)
}

// renewClaimed is Store.ClaimedWith, the lease renewed from now.
func (s *Service) renewClaimed(ctx context.Context, runnerID, claimID, taken string, start bool) (*Job, bool, error) {
	now := s.now()
	j, ok, err := s.Store.ClaimedWith(ctx, runnerID, claimID, taken, start, Renewal{Claimed: now.Add(s.Pickup), Running: now.Add(s.Lease)})
	if err != nil {
		return nil, false, errs.Wrap(errs.Unavailable, "the Hub cannot look up the claim for a moment; claim again shortly", err)
	}
	if !ok {
		return nil, false, nil
	}
	return &j, true, nil
}

// errClaimSpent ends a claim whose job was handed over and is done with:
// the claim takes no other.
var errClaimSpent = errors.New("the claim's job is done with")

// How long a claim waits, at most, for the job its note names to be taken
// up by another instance serving the same claim (between that instance's
// take from the queue and its commit).
const (
	heldPause = 50 * time.Millisecond
	heldTries = 20
)

// tryClaim takes entries the runner may run until PostgreSQL confirms one
// (an entry may be stale: the job canceled, or queued twice by a
// reconcile). A claim that takes its job up takes one at most (see
// Queue.Take): when its note names a job, that job is handed over (held).
func (s *Service) tryClaim(ctx context.Context, r Runner, claimID string, first, start bool) (*Job, bool, error) {
	var note Note // only a claim that takes its job up is noted
	if start {
		note.ClaimID, note.Repeat = claimID, !first
	}
	for {
		t, err := s.Queue.Take(ctx, r.Environment, r.ID, r.Labels, note)
		if err != nil {
			return nil, false, errs.Wrap(errs.Unavailable, "the job queue is unavailable for a moment; claim again shortly", err)
		}
		if t.Held != nil {
			j, stale, err := s.held(ctx, r.ID, claimID, *t.Held)
			if !stale {
				return j, false, err
			}
			note.Replace = *t.Held
			continue
		}
		if !t.OK {
			return nil, t.Left, nil
		}
		e, now := t.Entry, s.now()
		c := Claim{Entry: e, RunnerID: r.ID, RunnerLabels: r.Labels, ClaimID: claimID, Now: now, LeaseUntil: now.Add(s.Pickup), Start: start}
		if start {
			c.LeaseUntil = now.Add(s.Lease)
		}
		j, ok, err := s.Store.ClaimJob(ctx, c)
		if err != nil { // the job stays pending: put its entry back (which ends the note's hold)
			s.requeue(context.WithoutCancel(ctx), e)
			return nil, true, fmt.Errorf("claim job %s: %w", e.JobID, err)
		}
		if ok {
			s.Meter.JobStatus(StatusClaimed)
			if start {
				s.Meter.JobStatus(StatusRunning)
			}
			return &j, t.Left, nil
		}
		note.Replace = Held{JobID: e.JobID, Attempt: e.Attempt}
	}
}

// held settles the job h that the note of claim claimID names, which
// another instance serving the same claim took from the queue: that job,
// its lease renewed, once PostgreSQL shows the claim took it up;
// errClaimSpent when it did and the job is no longer running; stale when
// the note no longer stands for a job of the claim (the job moved to
// another attempt or another runner, or is gone), so the claim may take
// another. While the job is still pending at the noted attempt (the other
// instance's claim not committed yet) held waits up to heldTries·heldPause,
// then reports nothing, not stale: the claim looks again later.
func (s *Service) held(ctx context.Context, runnerID, claimID string, h Held) (*Job, bool, error) {
	for try := 1; ; try++ {
		j, ok, err := s.renewClaimed(ctx, runnerID, claimID, h.JobID, true)
		if ok || err != nil {
			return j, false, err
		}
		cur, err := s.Store.JobByID(ctx, h.JobID)
		switch {
		case errs.KindOf(err) == errs.NotFound:
			return nil, true, nil
		case err != nil:
			return nil, false, errs.Wrap(errs.Unavailable, "the Hub cannot look up the claim for a moment; claim again shortly", err)
		case cur.Attempt != h.Attempt:
			return nil, true, nil
		case cur.Status != StatusPending && cur.RunnerID == runnerID:
			return nil, false, errClaimSpent
		case cur.Status != StatusPending:
			return nil, true, nil
		}
		if try == heldTries {
			return nil, false, nil
		}
		select {
		case <-ctx.Done():
			return nil, false, nil
		case <-time.After(heldPause):
		}
	}
}

// Release gives back the job a claim of runner v (authenticated by the
// caller) handed out, whose answer never reached the runner: the job goes
// back to pending, and to its queue, without spending an attempt. Only a
// job still at attempt, under the lease the claim set and without log
// lines is given back; one the runner has since heard of (a repeat of the
// claim renews the lease, as heartbeats and uploads do) is left as it is,
// and Release reports false.
func (s *Service) Release(ctx context.Context, v Runner, id string, attempt int, lease time.Time) (bool, error) {
	if err := checkID(id); err != nil {
		return false, err
	}
	now := s.now()
	j, err := s.Store.UpdateJob(ctx, id, func(j *Job) (Change, error) {
		if j.Attempt != attempt {
			return Change{}, errUnchanged // released already, or its lease ended
		}
		if j.RunnerID != v.ID {
			return Change{}, errs.E(errs.PermissionDenied, "this runner does not hold the job")
		}
		if (j.Status != StatusClaimed && j.Status != StatusRunning) || j.LeaseExpiresAt == nil || !j.LeaseExpiresAt.Equal(lease) || j.LogSeq != 0 {
			return Change{}, errUnchanged
		}
		return Change{Ended: unclaim(j, now, reasonNotReceived)}, nil
	})
	if errors.Is(err, errUnchanged) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("release job %s: %w", id, err)
	}
	s.Meter.JobStatus(j.Status)
	s.requeue(ctx, entryOf(j))
	return true, nil
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
