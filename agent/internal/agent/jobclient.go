package agent

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
	"os"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// Runner-side job routes (docs/api.md "Runner protocol").
const (
	pathClaim    = "/api/v1/runner/jobs/claim"
	pathPackages = "/api/v1/runner/packages"
	pathJobs     = "/api/v1/runner/jobs"
)

// claimedJob is a claimed job as the Hub sends it over HTTP.
type claimedJob = runners.ClaimedJob

// logLine is one line uploaded to the Hub.
type logLine = runners.AgentLogLine

// logsBody is the body of POST /api/v1/runner/jobs/{id}/logs.
type logsBody struct {
	Lines   []logLine `json:"lines"`
	Attempt int       `json:"attempt"`
}

// completeBody is the body of POST /api/v1/runner/jobs/{id}/complete.
type completeBody struct {
	Status   string `json:"status"`
	ExitCode *int   `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	Attempt  int    `json:"attempt"`
}

// newRequest builds an authenticated runner request.
func (c *hubClient) newRequest(ctx context.Context, method, path string, query url.Values, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	u := c.base.JoinPath(path)
	if query != nil {
		u.RawQuery = query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.id, string(c.secret))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set(runners.HeaderProtocol, runners.ProtocolVersion)
	req.Header.Set("User-Agent", c.userAgent)
	return req, nil
}

// callResult is what one runner request came to: status 0 means no answer.
type callResult struct {
	status     int
	retryAfter time.Duration
	err        error
}

// failure turns a non-success answer into a callResult (and drains it).
func (c *hubClient) failure(resp *http.Response) callResult {
	r := callResult{status: resp.StatusCode}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		r.err = ErrCredentialsRefused
		return r
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		r.retryAfter = RetryAfter(resp.Header, c.now())
	}
	r.err = fmt.Errorf("the Hub answered %s: %s", resp.Status, apiMessage(resp.Body))
	return r
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// claim long-polls for a job; nil job with a nil error means none came.
// claimID names the claim: after a failure the caller asks again with the
// same id, so a job handed out in a reply that was lost comes back.
func (c *hubClient) claim(ctx context.Context, wait time.Duration, claimID string) (*claimedJob, callResult) {
	ctx, cancel := context.WithTimeout(ctx, wait+30*time.Second)
	defer cancel()
	q := url.Values{"wait": {strconv.Itoa(int(wait / time.Second))}}
	req, err := c.newRequest(ctx, http.MethodPost, pathClaim, q, struct{}{})
	if err != nil {
		return nil, callResult{err: err}
	}
	req.Header.Set(runners.HeaderClaimID, claimID)
	resp, err := c.long.Do(req)
	if err != nil {
		return nil, callResult{err: err}
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil, callResult{status: resp.StatusCode}
	case http.StatusOK:
		var job claimedJob
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&job); err != nil {
			return nil, callResult{status: resp.StatusCode, err: fmt.Errorf("the Hub's claim reply is unreadable: %w", err)}
		}
		if job.ID == "" {
			return nil, callResult{status: resp.StatusCode, err: fmt.Errorf("the Hub's claim reply has no job id")}
		}
		return &job, callResult{status: resp.StatusCode}
	}
	return nil, c.failure(resp)
}

// download fetches pkg into dst while hashing it; the size and SHA-256 must
// be the ones the claim announced. A mismatch is a permanent error
// (errPackage); anything else may be retried.
func (c *hubClient) download(ctx context.Context, pkg runners.PackageRef, dst *os.File) callResult {
	req, err := c.newRequest(ctx, http.MethodGet, pathPackages+"/"+url.PathEscape(pkg.Name)+"/"+url.PathEscape(pkg.Version), nil, nil)
	if err != nil {
		return callResult{err: err}
	}
	req.Header.Set("Accept", "application/zip, application/octet-stream")
	resp, err := c.long.Do(req)
	if err != nil {
		return callResult{err: err}
	}
	defer drain(resp)
	if resp.StatusCode != http.StatusOK {
		return c.failure(resp)
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return callResult{err: err}
	}
	if err := dst.Truncate(0); err != nil {
		return callResult{err: err}
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), io.LimitReader(resp.Body, pkg.SizeBytes+1))
	if err != nil {
		return callResult{status: resp.StatusCode, err: fmt.Errorf("download package: %w", err)}
	}
	if n != pkg.SizeBytes {
		return callResult{status: resp.StatusCode, err: &packageError{fmt.Sprintf(
			"package %s %s: downloaded %d bytes, the Hub announced %d", pkg.Name, pkg.Version, n, pkg.SizeBytes)}}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != pkg.SHA256 {
		return callResult{status: resp.StatusCode, err: &packageError{fmt.Sprintf(
			"package %s %s: SHA-256 mismatch: got %s, the Hub announced %s", pkg.Name, pkg.Version, got, pkg.SHA256)}}
	}
	return callResult{status: resp.StatusCode}
}

// packageError is a package that is not what the claim announced or cannot be run.
type packageError struct{ msg string }

func (e *packageError) Error() string { return e.msg }

// postLogs uploads a batch; cancel tells whether the Hub wants the job stopped.
func (c *hubClient) postLogs(ctx context.Context, jobID string, attempt int, lines []logLine) (cancel bool, r callResult) {
	ctx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	req, err := c.newRequest(ctx, http.MethodPost, pathJobs+"/"+url.PathEscape(jobID)+"/logs", nil, logsBody{Lines: lines, Attempt: attempt})
	if err != nil {
		return false, callResult{err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, callResult{err: err}
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		var out runners.AgentLogsResponse
		if resp.StatusCode == http.StatusOK {
			_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&out) // an empty or odd body is no cancel
		}
		cancel := out.CancelRequested || resp.Header.Get(runners.HeaderCancelRequested) == "true"
		return cancel, callResult{status: resp.StatusCode}
	}
	return false, c.failure(resp)
}

// complete reports how a job ended.
func (c *hubClient) complete(ctx context.Context, jobID string, body completeBody) callResult {
	ctx, done := context.WithTimeout(ctx, 30*time.Second)
	defer done()
	req, err := c.newRequest(ctx, http.MethodPost, pathJobs+"/"+url.PathEscape(jobID)+"/complete", nil, body)
	if err != nil {
		return callResult{err: err}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return callResult{err: err}
	}
	defer drain(resp)
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNoContent:
		return callResult{status: resp.StatusCode}
	}
	return c.failure(resp)
}
