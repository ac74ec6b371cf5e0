package loadgen

import (
	"context"
	"errors"
	"io"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/runnerclient"
)

// Fleet is a set of simulated runners that take jobs and finish them at
// once: each long-polls a claim (under a claim id kept while it is retried,
// as the agent does), downloads the package (when Download; once per
// package, as the agent keeps the packages it ran), uploads one log line
// and reports success, then claims again. It records when each job reached
// its runner and when its completion was accepted.
type Fleet struct {
	Runners   []Runner
	ClaimWait time.Duration // the claims' ?wait= (whole seconds, at most 60)
	Download  bool
	Errors    *Errors
	// Stagger spreads the runners' first claims evenly over this span, as
	// runners that started at different times are (0: all at once).
	Stagger time.Duration
	// OneJob stops each runner after its first job, whose result it then
	// sends on its own: no claim follows one answered.
	OneJob bool

	waiting    atomic.Int64 // claims sent and not yet answered
	unfinished atomic.Int64 // claims the busy Hub asked to repeat (not errors)

	mu       sync.Mutex
	claimed  map[string]time.Time // job id -> when its claim reply arrived
	finished map[string]time.Time // job id -> when its completion was accepted
}

// callTimeout bounds a job's calls after its claim (the claim itself takes
// up to its wait plus runnerclient.CallTimeout).
const callTimeout = runnerclient.CallTimeout

// Run runs every runner until ctx ends or stop is closed. After stop, each
// runner waits for the answer to the claim it is in rather than dropping
// it: a dropped claim goes on waiting in the Hub and may take a job that
// nobody receives (it stays claimed until its lease ends), even after the
// runner is deleted.
func (f *Fleet) Run(ctx context.Context, stop <-chan struct{}) {
	f.mu.Lock()
	f.claimed, f.finished = map[string]time.Time{}, map[string]time.Time{}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for i, r := range f.Runners {
		offset := spread(i, len(f.Runners), f.Stagger)
		wg.Go(func() {
			pause(ctx, offset)
			f.loop(ctx, stop, r)
		})
	}
	wg.Wait()
}

// Waiting is how many runners are in a claim right now (sent, not answered).
func (f *Fleet) Waiting() int { return int(f.waiting.Load()) }

// Repeated is how many claims the Hub was too busy to finish in time and
// asked to be repeated (runnerclient.ErrClaimUnfinished).
func (f *Fleet) Repeated() int { return int(f.unfinished.Load()) }

// ClaimedAt is when the job's claim reply reached its runner.
func (f *Fleet) ClaimedAt(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.claimed[id]
	return t, ok
}

// Finished is how many jobs the fleet has finished.
func (f *Fleet) Finished() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.finished)
}

// FinishedAt is when the job's result left its runner: the first send of
// the claim carrying it, or the answer to its completion on its own. (The
// throughput part times jobs by the Hub's finished_at.)
func (f *Fleet) FinishedAt(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.finished[id]
	return t, ok
}

func (f *Fleet) loop(ctx context.Context, stop <-chan struct{}, r Runner) {
	cached := map[string]bool{} // package SHA-256s this runner has
	claimID, first := runnerclient.NewClaimID(), true
	var done *runners.ClaimCompletion // the last job's result, riding on the next claim (as the agent's)
	for ctx.Err() == nil {
		select {
		case <-stop:
			if done != nil { // no next claim: the result goes on its own
				f.complete(ctx, r, done)
			}
			return
		default:
		}
		job, err := f.claim(ctx, r, claimID, first, done)
		first = false
		if errors.Is(err, runnerclient.ErrClaimUnfinished) {
			continue // the Hub was busy: at once again under the same claim id, no error
		}
		if err != nil && done != nil && runnerclient.Permanent(err) {
			done, claimID, first = nil, runnerclient.NewClaimID(), true // the result refused (counted): dropped
			continue
		}
		if err != nil {
			pause(ctx, time.Second) // counted in Errors; do not spin on a failing Hub
			continue                // and ask again under the same claim id
		}
		claimID, first, done = runnerclient.NewClaimID(), true, nil // answered: the next claim is a new one
		if job != nil {
			done = f.work(ctx, r, job, cached)
			if f.OneJob {
				if done != nil {
					f.complete(ctx, r, done)
				}
				return
			}
		}
	}
}

// claim long-polls once, with the last job's result if done is set; a nil
// job and nil error mean none came (204). A result counts as finished when
// the claim carrying it is first sent; the throughput part times it by the
// Hub's finished_at (see verify).
func (f *Fleet) claim(ctx context.Context, r Runner, claimID string, first bool, done *runners.ClaimCompletion) (*runners.ClaimedJob, error) {
	if done != nil {
		f.mu.Lock()
		if _, ok := f.finished[done.JobID]; !ok {
			f.finished[done.JobID] = time.Now()
		}
		f.mu.Unlock()
	}
	f.waiting.Add(1)
	job, err := r.Client.ClaimWith(ctx, f.ClaimWait, claimID, runnerclient.ClaimOptions{First: first, Done: done})
	got := time.Now()
	f.waiting.Add(-1)
	if errors.Is(err, runnerclient.ErrClaimUnfinished) {
		f.unfinished.Add(1)
		return nil, err
	}
	if err != nil {
		f.count(ctx, "claim", err)
		return nil, err
	}
	if job != nil {
		f.mu.Lock()
		f.claimed[job.ID] = got
		f.mu.Unlock()
	}
	return job, nil
}

// work runs a claimed job as the agent would a no-op: it takes the job up
// with its one log line (unless the claim took it up: the line then goes
// with the result) and returns its result for the next claim to carry; nil
// when a call failed (counted in Errors) and the job is left to the Hub's
// lease, or when the Hub does not read results on claims (the result then
// went on its own).
func (f *Fleet) work(ctx context.Context, r Runner, job *runners.ClaimedJob, cached map[string]bool) *runners.ClaimCompletion {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if f.Download && !cached[job.Package.SHA256] {
		// Checked against the claim's size and SHA-256 as it streams by.
		if err := r.Client.Download(ctx, job.Package, io.Discard); err != nil {
			f.count(ctx, "download", err)
			return nil
		}
		cached[job.Package.SHA256] = true
	}
	lines := []runners.AgentLogLine{{TS: time.Now().UTC(), Stream: "stdout", Message: "noop"}}
	exit := 0
	done := &runners.ClaimCompletion{JobID: job.ID, CompleteBody: runners.CompleteBody{Status: runners.JobSucceeded, ExitCode: &exit, Attempt: job.Attempt, Lines: lines}}
	if job.TakenUp() {
		return done
	}
	if _, err := r.Client.UploadLogs(ctx, job.ID, job.Attempt, lines); err != nil { // takes it up
		f.count(ctx, "logs", err)
		return nil
	}
	done.Lines = nil
	if job.ResultOnClaim() {
		return done
	}
	f.complete(ctx, r, done)
	return nil
}

// complete sends a job's result on its own (not riding on a claim).
func (f *Fleet) complete(ctx context.Context, r Runner, d *runners.ClaimCompletion) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), callTimeout)
	defer cancel()
	if err := r.Client.Complete(ctx, d.JobID, d.CompleteBody); err != nil {
		f.count(ctx, "complete", err)
		return
	}
	f.mu.Lock()
	if _, ok := f.finished[d.JobID]; !ok {
		f.finished[d.JobID] = time.Now()
	}
	f.mu.Unlock()
}

// count records a failed call in Errors under op: by the HTTP status the
// Hub answered, "bad reply", "wrong bytes" (a package not the one
// announced) or "network" — the last not when ctx ended (the run is
// stopping).
func (f *Fleet) count(ctx context.Context, op string, err error) {
	switch status := runnerclient.Status(err); {
	case status != 0:
		f.Errors.Add(op, strconv.Itoa(status))
	case errors.Is(err, runnerclient.ErrBadReply):
		f.Errors.Add(op, "bad reply")
	case runnerclient.IsPackageError(err):
		f.Errors.Add(op, "wrong bytes")
	case ctx.Err() == nil:
		f.Errors.Add(op, "network")
	}
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
