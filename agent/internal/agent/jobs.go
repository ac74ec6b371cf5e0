package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/runnerclient"
)

// claimedJob is a claimed job as the Hub sends it over HTTP.
type claimedJob = runners.ClaimedJob

// logLine is one line uploaded to the Hub.
type logLine = runners.AgentLogLine

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
	assetsWithin time.Duration
	killGrace    time.Duration
	flushEvery   time.Duration
	batchLines   int
	limits       unzipLimits

	packages packageCache

	mu      sync.Mutex
	running map[string]*runningJob
	// carry is a result waiting to ride on the next claim (maxJobs 1: the
	// claim follows the job's end at once).
	carry *journalEntry
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
		claimWait: defaultClaimWait, takeUpWithin: defaultTakeUpWithin, assetsWithin: defaultAssetsWithin, killGrace: defaultKillGrace, flushEvery: defaultFlushEvery,
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
	j.sweepAssetsFiles()
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
	for {
		select {
		case slots <- struct{}{}:
		case err := <-fatal:
			return err
		case <-ctx.Done():
			return nil
		}
		// Retried under its claim id until the Hub answers (runnerclient.NextJob),
		// with the last job's result, if one waits.
		done := j.takeCarry()
		job, err := j.a.client.NextJobAfter(ctx, j.claimWait, claimResult(done))
		if ctx.Err() != nil {
			return nil // a result not reported stays in the journal for the next start
		}
		if done != nil {
			switch status := runnerclient.Status(err); {
			case err == nil:
				j.settle(*done, nil)
			case refusedResult(status): // the result refused for good; no job claimed
				j.settle(*done, err)
				<-slots
				continue
			case !errors.Is(err, ErrCredentialsRefused):
				// The Hub refused the claim itself for good (this agent's
				// version, say): the result goes on its own.
				<-slots
				if err := j.deliver(ctx, *done); err != nil {
					return err
				}
				continue
			}
		}
		if err != nil { // the credentials refused: nothing else ends the retries
			<-slots
			j.a.log.Error(err.Error())
			return err
		}
		if job == nil { // 204: nothing within wait; ask again at once
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
	e := journalEntry{JobID: job.ID, Attempt: job.Attempt, Result: &res}
	if j.maxJobs == 1 && job.ResultOnClaim() {
		// The next claim follows at once: the result rides on it (a Hub
		// older than results on claims would not see it: not to one).
		j.mu.Lock()
		j.carry = &e
		j.mu.Unlock()
		return nil
	}
	return j.deliver(ctx, e)
}

// takeCarry returns the result waiting for the next claim, if any.
func (j *jobRunner) takeCarry() *journalEntry {
	j.mu.Lock()
	defer j.mu.Unlock()
	e := j.carry
	j.carry = nil
	return e
}

// body is e's result as a completion says it.
func (e journalEntry) body() runners.CompleteBody {
	return runners.CompleteBody{Status: e.Result.Status, ExitCode: e.Result.ExitCode, Error: e.Result.Error, Attempt: e.Attempt}
}

// claimResult is e's result as a claim carries it; nil for none.
func claimResult(e *journalEntry) *runners.ClaimCompletion {
	if e == nil {
		return nil
	}
	return &runners.ClaimCompletion{JobID: e.JobID, CompleteBody: e.body()}
}

// takeUp tells the Hub this runner has the job (an upload without lines,
// fenced by the attempt), before anything runs, unless the claim took it
// up (the agent asks every claim to; a Hub older than that hands jobs out
// claimed): a claim nobody takes up goes to another runner after the
// pickup time, so only a job the Hub knows is taken up may run. It
// retries for at most takeUpWithin; no answer by then, or a refusal,
// means the job is not this runner's to run.
func (j *jobRunner) takeUp(ctx context.Context, job *claimedJob, log *slog.Logger) error {
	if job.TakenUp() {
		return nil // the claim did
	}
	ctx, cancel := context.WithTimeout(ctx, j.takeUpWithin)
	defer cancel()
	err := j.a.client.Retry(ctx, runnerclient.Retry{Op: "taking up the job", Log: log}, func(ctx context.Context) error {
		_, err := j.a.client.UploadLogs(ctx, job.ID, job.Attempt, nil)
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrCredentialsRefused):
		log.Error(err.Error())
		return err
	case runnerclient.Permanent(err):
		return fmt.Errorf("the Hub no longer gives it to this runner (%w)", err)
	}
	return fmt.Errorf("the Hub did not answer within %s (it hands the job to another runner)", j.takeUpWithin)
}

// deliver reports a result until the Hub takes it, refuses it for good
// (403, 404, 409: dropped, logged) or ctx ends; only a 401 is an error.
func (j *jobRunner) deliver(ctx context.Context, e journalEntry) error {
	body := e.body()
	log := j.a.log.With("job_id", e.JobID, "attempt", e.Attempt)
	err := j.a.client.Retry(ctx, runnerclient.Retry{Op: "reporting the result", Log: log}, func(ctx context.Context) error {
		return j.a.client.Complete(ctx, e.JobID, body)
	})
	return j.settle(e, err)
}

// refusedResult reports whether a claim's or completion's HTTP status is
// the Hub refusing a result for good: a stale attempt, a job not held.
func refusedResult(status int) bool { return status == 403 || status == 404 || status == 409 }

// settle records how the Hub answered e's result (err from its completion,
// on its own or riding on a claim); only a 401 is an error.
func (j *jobRunner) settle(e journalEntry, err error) error {
	log := j.a.log.With("job_id", e.JobID, "attempt", e.Attempt)
	switch status := runnerclient.Status(err); {
	case err == nil:
		log.Info("result reported", "status", e.Result.Status)
		return j.ack(e, log)
	case errors.Is(err, ErrCredentialsRefused):
		log.Error(err.Error())
		return err
	case refusedResult(status):
		log.Warn("the Hub refused the result (stale attempt or job not held); dropping it", "status", status, "err", err.Error())
		return j.ack(e, log)
	case runnerclient.Permanent(err):
		log.Error("the Hub refused the result; dropping it", "status", status, "err", err.Error())
		return j.ack(e, log)
	}
	return nil // the agent is stopping: the journal keeps the result for its next start
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
func (j *jobRunner) execute(ctx context.Context, job *claimedJob, rj *runningJob, log *slog.Logger) (res jobResult, interrupted bool) {
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

	// Download and unpack, then fetch the assets: stoppable like the run itself.
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
	var assets *jobAssets
	if err == nil && len(job.Assets) > 0 {
		assets, err = j.fetchAssets(prep, job, log)
	}
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
	return j.runProcess(ctx, job, rj, m, work, assets, deadline.C, ship, log)
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
func (j *jobRunner) prepare(ctx context.Context, job *claimedJob, work string, log *slog.Logger) (pkgstore.Manifest, error) {
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
func (j *jobRunner) download(ctx context.Context, job *claimedJob, log *slog.Logger) (string, error) {
	f, err := j.packages.temp()
	if err != nil {
		return "", fmt.Errorf("download package: %w", err)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name()) // gone already once kept
	}()
	err = j.a.client.Retry(ctx, runnerclient.Retry{Op: "package download", Log: log, Attempts: downloadAttempts},
		func(ctx context.Context) error {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if err := f.Truncate(0); err != nil {
				return err
			}
			return j.a.client.Download(ctx, job.Package, f)
		})
	if err != nil {
		return "", fmt.Errorf("download package %s %s: %w", job.Package.Name, job.Package.Version, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return j.packages.keep(f.Name(), job.Package.SHA256)
}
