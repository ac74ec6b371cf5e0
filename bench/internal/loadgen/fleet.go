package loadgen

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
)

// Fleet is a set of simulated runners that take jobs and finish them at
// once: each long-polls a claim, downloads the package (when Download; once
// per package, as the agent keeps the packages it ran),
// uploads one log line and reports success, then claims again. It records
// when each job reached its runner and when its completion was accepted.
type Fleet struct {
	Client    *http.Client // needs no timeout of its own: every call has one
	Hub       string
	Runners   []Runner
	ClaimWait time.Duration // the claims' ?wait= (whole seconds, at most 60)
	Download  bool
	Errors    *Errors
	// Stagger spreads the runners' first claims evenly over this span, as
	// runners that started at different times are (0: all at once).
	Stagger time.Duration

	waiting atomic.Int64 // claims sent and not yet answered

	mu       sync.Mutex
	claimed  map[string]time.Time // job id -> when its claim reply arrived
	finished map[string]time.Time // job id -> when its completion was accepted
}

// callTimeout bounds every runner call but the claim (wait plus this).
const callTimeout = 30 * time.Second

// userAgent names the simulated runners to the Hub.
var userAgent = "exekra-loadgen/" + buildinfo.Version

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

// FinishedAt is when the Hub accepted the job's completion.
func (f *Fleet) FinishedAt(id string) (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.finished[id]
	return t, ok
}

func (f *Fleet) loop(ctx context.Context, stop <-chan struct{}, r Runner) {
	cached := map[string]bool{} // package SHA-256s this runner has
	for ctx.Err() == nil {
		select {
		case <-stop:
			return
		default:
		}
		job, err := f.claim(ctx, r)
		switch {
		case err != nil:
			pause(ctx, time.Second) // counted in Errors; do not spin on a failing Hub
		case job != nil:
			f.work(ctx, r, job, cached)
		}
	}
}

// claim long-polls once; a nil job and nil error mean none came (204).
func (f *Fleet) claim(ctx context.Context, r Runner) (*runners.ClaimedJob, error) {
	ctx, cancel := context.WithTimeout(ctx, f.ClaimWait+callTimeout)
	defer cancel()
	path := "/api/v1/runner/jobs/claim?wait=" + strconv.Itoa(int(f.ClaimWait/time.Second))
	f.waiting.Add(1)
	resp, err := f.call(ctx, "claim", r, http.MethodPost, path, nil)
	got := time.Now()
	f.waiting.Add(-1)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	var job runners.ClaimedJob
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&job); err != nil || job.ID == "" {
		f.Errors.Add("claim", "bad reply")
		return nil, fmt.Errorf("claim reply without a job: %v", err)
	}
	f.mu.Lock()
	f.claimed[job.ID] = got
	f.mu.Unlock()
	return &job, nil
}

// work finishes a claimed job as a no-op; on a failed call it leaves the
// job to the Hub's lease (the failure is counted in Errors).
func (f *Fleet) work(ctx context.Context, r Runner, job *runners.ClaimedJob, cached map[string]bool) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if f.Download && !cached[job.Package.SHA256] {
		if f.download(ctx, r, job.Package) != nil {
			return
		}
		cached[job.Package.SHA256] = true
	}
	jobPath := "/api/v1/runner/jobs/" + url.PathEscape(job.ID)
	logs := logsBody{Attempt: job.Attempt, Lines: []runners.AgentLogLine{{TS: time.Now().UTC(), Stream: "stdout", Message: "noop"}}}
	if f.post(ctx, "logs", r, jobPath+"/logs", logs) != nil {
		return
	}
	exit := 0
	if f.post(ctx, "complete", r, jobPath+"/complete", completeBody{Status: runners.JobSucceeded, ExitCode: &exit, Attempt: job.Attempt}) != nil {
		return
	}
	done := time.Now()
	f.mu.Lock()
	f.finished[job.ID] = done
	f.mu.Unlock()
}

// logsBody and completeBody are the HTTP bodies of the runner's log upload
// and completion (docs/api.md "Runner protocol").
type logsBody struct {
	Lines   []runners.AgentLogLine `json:"lines"`
	Attempt int                    `json:"attempt"`
}

type completeBody struct {
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
	Attempt  int    `json:"attempt"`
}

// download fetches the package and checks its size and SHA-256.
func (f *Fleet) download(ctx context.Context, r Runner, pkg runners.PackageRef) error {
	path := "/api/v1/runner/packages/" + url.PathEscape(pkg.Name) + "/" + url.PathEscape(pkg.Version)
	resp, err := f.call(ctx, "download", r, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer drain(resp)
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(resp.Body, pkg.SizeBytes+1))
	switch {
	case err != nil:
		if ctx.Err() == nil {
			f.Errors.Add("download", "network")
		}
		return fmt.Errorf("download %s %s: %w", pkg.Name, pkg.Version, err)
	case n != pkg.SizeBytes || hex.EncodeToString(h.Sum(nil)) != pkg.SHA256:
		f.Errors.Add("download", "wrong bytes")
		return fmt.Errorf("download %s %s: not the bytes the claim announced", pkg.Name, pkg.Version)
	}
	return nil
}

// post sends body as JSON and drains the answer.
func (f *Fleet) post(ctx context.Context, op string, r Runner, path string, body any) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	resp, err := f.call(ctx, op, r, http.MethodPost, path, data)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// call sends one runner request and returns a 2xx answer for the caller
// to drain; anything else is counted in Errors under op (unless ctx ended:
// the run is stopping) and returned as an error.
func (f *Fleet) call(ctx context.Context, op string, r Runner, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, f.Hub+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	req.SetBasicAuth(r.ID, r.Secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set(runners.HeaderProtocol, runners.ProtocolVersion)
	req.Header.Set("User-Agent", userAgent)
	resp, err := clientOf(r, f.Client).Do(req)
	if err != nil {
		if ctx.Err() == nil {
			f.Errors.Add(op, "network")
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode/100 != 2 {
		drain(resp)
		f.Errors.Add(op, strconv.Itoa(resp.StatusCode))
		return nil, fmt.Errorf("%s: HTTP %d", op, resp.StatusCode)
	}
	return resp, nil
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
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
