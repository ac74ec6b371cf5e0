package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/pkgstore"
)

// Job side defaults (docs/api.md "Runner protocol").
const (
	defaultClaimWait  = 30 * time.Second
	defaultKillGrace  = 10 * time.Second // SIGTERM, then SIGKILL after this
	defaultFlushEvery = 500 * time.Millisecond
	defaultBatchLines = 100
	maxLineBytes      = 64 << 10
	downloadAttempts  = 5
	// defaultTakeUpWithin stays well inside the Hub's pickup time (30 s).
	defaultTakeUpWithin = 15 * time.Second
)

// Why a job was stopped before it ended by itself.
const (
	stopCanceled = "canceled" // the Hub asked (heartbeat reply or logs reply)
	stopTimeout  = "timeout"  // ran past timeout_seconds
	stopLost     = "lost"     // the Hub says this runner no longer holds it (403/409 on logs)
	stopShutdown = "shutdown" // the agent itself is stopping
)

// jobRunner claims jobs, runs them and reports how they ended.
type jobRunner struct {
	a       *Agent
	journal *journal
	jobsDir string
	maxJobs int

	claimWait    time.Duration
	takeUpWithin time.Duration
	killGrace    time.Duration
	flushEvery   time.Duration
	batchLines   int
	limits       unzipLimits

	packages packageCache

	mu      sync.Mutex
	running map[string]*runningJob
}

func newJobRunner(a *Agent, cfg Config) (*jobRunner, error) {
	work, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, usagef("--work-dir: %v", err)
	}
	state := cfg.StateDir
	if state == "" {
		state = work
	}
	jr, err := openJournal(state)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return &jobRunner{
		a: a, journal: jr, jobsDir: filepath.Join(work, "jobs"), packages: packageCache{dir: filepath.Join(work, "packages")},
		maxJobs:   max(cfg.MaxJobs, 1),
		claimWait: defaultClaimWait, takeUpWithin: defaultTakeUpWithin, killGrace: defaultKillGrace, flushEvery: defaultFlushEvery,
		batchLines: defaultBatchLines,
		limits:     unzipLimits{maxEntries: defaultMaxEntries, maxBytes: defaultMaxUnpackedBytes},
		running:    map[string]*runningJob{},
	}, nil
}

// runningJob is a job this agent holds, from claim to delivered result.
type runningJob struct {
	id      string
	attempt int
	once    sync.Once
	stop    chan struct{}
	reason  string // set before stop closes
}

func (r *runningJob) requestStop(reason string) {
	r.once.Do(func() { r.reason = reason; close(r.stop) })
}

// runningIDs are the jobs to name in heartbeats.
func (j *jobRunner) runningIDs() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	ids := make([]string, 0, len(j.running))
	for id := range j.running {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// cancel stops the jobs the Hub named.
func (j *jobRunner) cancel(ids []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, id := range ids {
		if r := j.running[id]; r != nil {
			j.a.log.Info("the Hub asked to cancel a job", "job_id", id)
			r.requestStop(stopCanceled)
		}
	}
}

// run delivers the results a previous run left, then claims and runs jobs
// until ctx ends (nil) or the Hub refuses the credentials.
func (j *jobRunner) run(ctx context.Context) error {
	for _, e := range j.journal.pending() {
		j.a.log.Info("reporting a result left from before", "job_id", e.JobID, "attempt", e.Attempt, "status", e.Result.Status)
		if err := j.deliver(ctx, e); err != nil {
			return err
		}
	}
	slots := make(chan struct{}, j.maxJobs)
	fatal := make(chan error, 1)
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, stop := context.WithCancel(ctx) // on a 401, the other jobs stop too (before the Wait above)
	defer stop()
	failures := 0
	claimID := newClaimID()
	for {
		select {
		case slots <- struct{}{}:
		case err := <-fatal:
			return err
		case <-ctx.Done():
			return nil
		}
		job, r := j.a.client.claim(ctx, j.claimWait, claimID)
		if ctx.Err() != nil {
			return nil
		}
		if r.err != nil {
			<-slots
			if errors.Is(r.err, ErrCredentialsRefused) {
				j.a.log.Error(r.err.Error())
				return r.err
			}
			wait := j.retryWait(failures, r)
			failures++
			j.a.log.Log(ctx, failureLevel(result{status: r.status, err: r.err}), "claim failed; retrying", "err", r.err.Error(),
				"status", r.status, "failures", failures, "retry_in", wait.Round(time.Millisecond).String())
			if j.a.sleep(ctx, wait) != nil {
				return nil
			}
			continue
		}
		failures, claimID = 0, newClaimID() // answered: the next claim is a new one
		if job == nil {                     // 204: nothing within wait; ask again at once
			<-slots
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := j.handle(ctx, job); err != nil {
				select {
				case fatal <- err:
				default:
				}
			}
		}()
	}
}

// newClaimID names one claim (kept across its retries).
func newClaimID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// retryWait is the backoff after failures, or what Retry-After asks.
func (j *jobRunner) retryWait(failures int, r callResult) time.Duration {
	if r.retryAfter > 0 {
		return r.retryAfter + time.Duration(j.a.random()*IntervalJitter*float64(r.retryAfter))
	}
	return Backoff(failures, j.a.random)
}

// handle runs one claimed job and reports its result.
func (j *jobRunner) handle(ctx context.Context, job *claimedJob) error {
	log := j.a.log.With("job_id", job.ID, "attempt", job.Attempt)
	if e, seen := j.journal.lookup(job.ID, job.Attempt); seen {
		if e.Result != nil {
			// Even an acknowledged result: a Hub restored from a backup taken
			// before it arrived hands the attempt out again.
			log.Info("the Hub handed out a job already run; reporting its result again instead of running it")
			return j.deliver(ctx, e)
		}
		// Stopped mid-run here: left to the pickup time, after which the Hub
		// hands it out at the next attempt.
		log.Warn("the Hub handed out a job this runner already started; not running it again")
		return nil
	}
	if err := j.takeUp(ctx, job, log); err != nil {
		if errors.Is(err, ErrCredentialsRefused) {
			return err
		}
		log.Warn("not running the job: " + err.Error())
		return nil
	}
	rj := &runningJob{id: job.ID, attempt: job.Attempt, stop: make(chan struct{})}
	j.mu.Lock()
	if j.running[job.ID] != nil {
		j.mu.Unlock()
		log.Warn("the Hub handed out a job this runner is running; ignoring it")
		return nil
	}
	j.running[job.ID] = rj
	j.mu.Unlock()
	defer func() {
		j.mu.Lock()
		delete(j.running, job.ID)
		j.mu.Unlock()
	}()

	log.Info("claimed a job", "package", job.Package.Name, "version", job.Package.Version, "timeout_seconds", job.TimeoutSeconds)
	var res jobResult
	if err := j.journal.claimed(job.ID, job.Attempt, time.Now()); err != nil {
		log.Error("cannot record the job in the journal; not running it", "err", err.Error())
		res = jobResult{Status: runners.JobFailed, Error: "the runner cannot write its journal: " + err.Error()}
	} else {
		var interrupted bool
		res, interrupted = j.execute(ctx, job, rj, log)
		if interrupted {
			log.Warn("the agent is stopping: the job was stopped and is left to its lease")
			return nil
		}
	}
	log.Info("job ended", "status", res.Status, "exit_code", res.ExitCode, "error", res.Error)
	if err := j.journal.finished(job.ID, job.Attempt, res, time.Now()); err != nil {
		log.Error("cannot record the result in the journal", "err", err.Error())
	}
	return j.deliver(ctx, journalEntry{JobID: job.ID, Attempt: job.Attempt, Result: &res})
}

// takeUp tells the Hub this runner has the job (an upload without lines,
// fenced by the attempt), before anything runs: a claim nobody takes up
// goes to another runner after the pickup time, so only a job the Hub
// knows is taken up may run. It retries for at most takeUpWithin; no
// answer by then, or a refusal, means the job is not this runner's to run.
func (j *jobRunner) takeUp(ctx context.Context, job *claimedJob, log logger) error {
	ctx, cancel := context.WithTimeout(ctx, j.takeUpWithin)
	defer cancel()
	for failures := 0; ; failures++ {
		_, r := j.a.client.postLogs(ctx, job.ID, job.Attempt, []logLine{})
		switch {
		case r.err == nil:
			return nil
		case errors.Is(r.err, ErrCredentialsRefused):
			log.Error(r.err.Error())
			return r.err
		case r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429:
			return fmt.Errorf("the Hub no longer gives it to this runner (%w)", r.err)
		}
		wait := j.retryWait(failures, r)
		log.Warn("taking up the job failed; retrying", "err", r.err.Error(), "status", r.status,
			"retry_in", wait.Round(time.Millisecond).String())
		if j.a.sleep(ctx, wait) != nil {
			return fmt.Errorf("the Hub did not answer within %s (it hands the job to another runner)", j.takeUpWithin)
		}
	}
}

// deliver reports a result until the Hub takes it, refuses it for good
// (403, 404, 409: dropped, logged) or ctx ends; only a 401 is an error.
func (j *jobRunner) deliver(ctx context.Context, e journalEntry) error {
	body := completeBody{Status: e.Result.Status, ExitCode: e.Result.ExitCode, Error: e.Result.Error, Attempt: e.Attempt}
	log := j.a.log.With("job_id", e.JobID, "attempt", e.Attempt)
	for failures := 0; ; failures++ {
		r := j.a.client.complete(ctx, e.JobID, body)
		switch {
		case r.err == nil:
			log.Info("result reported", "status", body.Status)
			return j.ack(e, log)
		case errors.Is(r.err, ErrCredentialsRefused):
			log.Error(r.err.Error())
			return r.err
		case r.status == 403 || r.status == 404 || r.status == 409:
			log.Warn("the Hub refused the result (stale attempt or job not held); dropping it", "status", r.status, "err", r.err.Error())
			return j.ack(e, log)
		case r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429:
			log.Error("the Hub refused the result; dropping it", "status", r.status, "err", r.err.Error())
			return j.ack(e, log)
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := j.retryWait(failures, r)
		log.Warn("reporting the result failed; retrying", "err", r.err.Error(), "status", r.status,
			"retry_in", wait.Round(time.Millisecond).String())
		if j.a.sleep(ctx, wait) != nil {
			return nil
		}
	}
}

func (j *jobRunner) ack(e journalEntry, log interface{ Error(string, ...any) }) error {
	if err := j.journal.acked(e.JobID, e.Attempt); err != nil {
		log.Error("cannot record the delivery in the journal", "err", err.Error())
	}
	return nil
}

// jobDirName is a job's directory name: its id (made safe) and attempt.
func jobDirName(id string, attempt int) string {
	safe := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, id)
	return safe + "-" + strconv.Itoa(attempt)
}

// execute downloads, unpacks and runs job. interrupted means the agent
// stopped first: nothing is to be reported.
func (j *jobRunner) execute(ctx context.Context, job *claimedJob, rj *runningJob, log logger) (res jobResult, interrupted bool) {
	timeout := time.Duration(job.TimeoutSeconds) * time.Second
	if timeout <= 0 {
		timeout = time.Hour
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()

	ship := newShipper(j, job, rj)
	go ship.loop(ctx)
	defer ship.close()

	fail := func(err error) (jobResult, bool) {
		ship.agentLine(err.Error())
		return jobResult{Status: runners.JobFailed, Error: err.Error()}, false
	}
	dir := filepath.Join(j.jobsDir, jobDirName(job.ID, job.Attempt))
	if err := os.RemoveAll(dir); err != nil {
		return fail(fmt.Errorf("prepare the work directory: %w", err))
	}
	work := filepath.Join(dir, "work")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return fail(fmt.Errorf("prepare the work directory: %w", err))
	}
	defer os.RemoveAll(dir)

	// Download and unpack, stoppable like the run itself.
	prep, stopPrep := context.WithCancel(ctx)
	defer stopPrep()
	prepDone, watcherDone := make(chan struct{}), make(chan struct{})
	var why string
	go func() {
		defer close(watcherDone)
		select {
		case <-rj.stop:
			why = rj.reason
		case <-deadline.C:
			why = stopTimeout
		case <-prepDone:
			return
		}
		stopPrep()
	}()
	m, err := j.prepare(prep, job, work, log)
	close(prepDone)
	<-watcherDone
	switch {
	case ctx.Err() != nil:
		return jobResult{}, true
	case why != "":
		return stopped(why, nil), false
	case err != nil:
		return fail(err)
	}
	return j.runProcess(ctx, job, rj, m, work, deadline.C, ship, log)
}

type logger interface {
	Info(string, ...any)
	Warn(string, ...any)
	Error(string, ...any)
}

// stopped is the result of a job stopped for reason.
func stopped(reason string, exit *int) jobResult {
	switch reason {
	case stopCanceled:
		return jobResult{Status: runners.JobCanceled, ExitCode: exit}
	case stopTimeout:
		return jobResult{Status: runners.JobFailed, ExitCode: exit, Error: runners.JobErrorTimeout}
	}
	return jobResult{Status: runners.JobFailed, ExitCode: exit, Error: "the Hub no longer gives this runner the job"}
}

// prepare takes the package from the cache or downloads it (retrying what
// may pass), checks it and unpacks it into work.
func (j *jobRunner) prepare(ctx context.Context, job *claimedJob, work string, log logger) (pkgstore.Manifest, error) {
	zip, ok := j.packages.lookup(job.Package.SHA256)
	if !ok {
		var err error
		if zip, err = j.download(ctx, job, log); err != nil {
			return pkgstore.Manifest{}, err
		}
	}
	m, err := unpack(zip, work, j.limits)
	if err != nil {
		return pkgstore.Manifest{}, fmt.Errorf("unpack package %s %s: %w", job.Package.Name, job.Package.Version, err)
	}
	return m, nil
}

// download fetches the job's package into the cache and returns its file.
func (j *jobRunner) download(ctx context.Context, job *claimedJob, log logger) (string, error) {
	f, err := j.packages.temp()
	if err != nil {
		return "", fmt.Errorf("download package: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) // gone already once kept
	}()
	for attempt := 0; ; attempt++ {
		r := j.a.client.download(ctx, job.Package, f)
		if r.err == nil {
			break
		}
		var perr *packageError
		if errors.As(r.err, &perr) || ctx.Err() != nil || attempt+1 >= downloadAttempts ||
			r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429 {
			return "", fmt.Errorf("download package %s %s: %w", job.Package.Name, job.Package.Version, r.err)
		}
		wait := j.retryWait(attempt, r)
		log.Warn("package download failed; retrying", "err", r.err.Error(), "retry_in", wait.String())
		if err := j.a.sleep(ctx, wait); err != nil {
			return "", err
		}
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return j.packages.keep(f.Name(), job.Package.SHA256)
}
