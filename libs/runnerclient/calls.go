package runnerclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// Heartbeat sends hb and returns the Hub's reply: the interval it asks for
// (0 when it named none) and the jobs it wants stopped.
func (c *Client) Heartbeat(ctx context.Context, hb runners.Heartbeat) (runners.HeartbeatResponse, error) {
	const op = "heartbeat"
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	if hb.RunningJobIDs == nil {
		hb.RunningJobIDs = []string{} // the protocol's field is a list, never null
	}
	resp, err := c.send(ctx, op, http.MethodPost, runners.PathHeartbeat, hb, nil)
	if err != nil {
		return runners.HeartbeatResponse{}, err
	}
	defer drain(resp)
	var out runners.HeartbeatResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxReply)).Decode(&out); err != nil {
		return runners.HeartbeatResponse{}, fmt.Errorf("%s: %w: %w", op, ErrBadReply, err)
	}
	return out, nil
}

// Claim asks once for a job, the Hub waiting up to wait (whole seconds, at
// most runners.MaxClaimWaitSeconds) for one; a nil job without an error
// means none came (204). claimID (runners.HeaderClaimID, "" for none)
// names the claim: asked again with the same id after a failure, the Hub
// returns the job it handed out in a reply that was lost. A busy Hub may
// answer ErrClaimUnfinished: ask again at once with the same id. See NextJob.
func (c *Client) Claim(ctx context.Context, wait time.Duration, claimID string) (*runners.ClaimedJob, error) {
	return c.ClaimWith(ctx, wait, claimID, ClaimOptions{})
}

// ClaimFirst is Claim for a claim id never sent before: the Hub then skips
// looking for a job given to it earlier (HeaderClaimFirst). Repeats and
// retries under the same id go through Claim.
func (c *Client) ClaimFirst(ctx context.Context, wait time.Duration, claimID string) (*runners.ClaimedJob, error) {
	return c.ClaimWith(ctx, wait, claimID, ClaimOptions{First: true})
}

// ClaimOptions is what a claim may say besides its wait and id.
type ClaimOptions struct {
	// First: the claim id is sent for the first time (see ClaimFirst).
	First bool
	// Done is the result of a job this runner ran, stored by the Hub before
	// the claim looks for the next job (runners.ClaimBody). Send it again
	// with every repeat of the claim: it is idempotent. A result the Hub
	// refuses fails the claim with the completion's error (a Permanent one).
	Done *runners.ClaimCompletion
}

// ClaimWith is Claim saying o.
func (c *Client) ClaimWith(ctx context.Context, wait time.Duration, claimID string, o ClaimOptions) (*runners.ClaimedJob, error) {
	const op = "claim"
	if d := o.Done; d != nil && (d.JobID == "" || !runners.JobFinal(d.Status)) {
		return nil, fmt.Errorf("%s: %w: a result of job %q with status %q", op, ErrBadInput, d.JobID, d.Status)
	}
	return c.claim(ctx, wait, claimID, o)
}

func (c *Client) claim(ctx context.Context, wait time.Duration, claimID string, o ClaimOptions) (*runners.ClaimedJob, error) {
	const op = "claim"
	path := runners.ClaimPath(wait)
	wait = min(max(wait, 0), runners.MaxClaimWaitSeconds*time.Second)
	ctx, cancel := context.WithTimeout(ctx, wait+CallTimeout)
	defer cancel()
	h := http.Header{}
	if claimID != "" {
		h.Set(runners.HeaderClaimID, claimID)
		if o.First {
			h.Set(runners.HeaderClaimFirst, "true")
		}
	}
	if c.start {
		h.Set(runners.HeaderClaimStart, "true")
	}
	resp, err := c.send(ctx, op, http.MethodPost, path, runners.ClaimBody{Complete: o.Done}, h)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNoContent {
		if resp.Header.Get(runners.HeaderClaimRepeat) == "true" {
			return nil, ErrClaimUnfinished
		}
		return nil, nil
	}
	var job runners.ClaimedJob
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxReply)).Decode(&job); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrBadReply, err)
	}
	if job.ID == "" {
		return nil, fmt.Errorf("%s: %w: no job id in a %d answer", op, ErrBadReply, resp.StatusCode)
	}
	return &job, nil
}

// Download writes the package pkg names to w, checking that it is exactly
// pkg.SizeBytes long with SHA-256 pkg.SHA256. Bytes that are not those is a
// *PackageError (w has received them: the caller discards what it wrote);
// a download cut short is an error that may pass. Only ctx bounds it.
func (c *Client) Download(ctx context.Context, pkg runners.PackageRef, w io.Writer) error {
	const op = "package download"
	want, err := hex.DecodeString(pkg.SHA256)
	switch {
	case pkg.Name == "" || pkg.Version == "":
		return fmt.Errorf("%s: %w: the claim names no package (name %q, version %q)", op, ErrBadInput, pkg.Name, pkg.Version)
	case err != nil || len(want) != sha256.Size || strings.ToLower(pkg.SHA256) != pkg.SHA256:
		return &PackageError{Name: pkg.Name, Version: pkg.Version, Problem: fmt.Sprintf("the claim's SHA-256 %q is not 64 lower-case hex digits", pkg.SHA256)}
	case pkg.SizeBytes < 0:
		return &PackageError{Name: pkg.Name, Version: pkg.Version, Problem: fmt.Sprintf("the claim's size %d is negative", pkg.SizeBytes)}
	}
	resp, err := c.send(ctx, op, http.MethodGet, runners.PackagePath(pkg.Name, pkg.Version), nil,
		http.Header{"Accept": {"application/zip, application/octet-stream"}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(resp.Body, pkg.SizeBytes+1))
	if err != nil {
		return fmt.Errorf("%s %s %s: %w", op, pkg.Name, pkg.Version, err)
	}
	if n != pkg.SizeBytes {
		return &PackageError{Name: pkg.Name, Version: pkg.Version,
			Problem: fmt.Sprintf("downloaded %d bytes, the Hub announced %d", n, pkg.SizeBytes)}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != pkg.SHA256 {
		return &PackageError{Name: pkg.Name, Version: pkg.Version,
			Problem: fmt.Sprintf("SHA-256 mismatch: got %s, the Hub announced %s", got, pkg.SHA256)}
	}
	return nil
}

// UploadLogs sends lines of the job's attempt (fenced: the Hub refuses an
// attempt that is over) and renews its lease; no lines takes the job up.
// cancel reports that the Hub wants the job stopped.
func (c *Client) UploadLogs(ctx context.Context, jobID string, attempt int, lines []runners.AgentLogLine) (cancel bool, err error) {
	const op = "log upload"
	if jobID == "" {
		return false, fmt.Errorf("%s: %w: the job id is empty", op, ErrBadInput)
	}
	if lines == nil {
		lines = []runners.AgentLogLine{}
	}
	ctx, done := context.WithTimeout(ctx, CallTimeout)
	defer done()
	resp, err := c.send(ctx, op, http.MethodPost, runners.JobLogsPath(jobID), runners.LogsBody{Lines: lines, Attempt: attempt}, nil)
	if err != nil {
		return false, err
	}
	defer drain(resp)
	var out runners.AgentLogsResponse
	if resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(io.LimitReader(resp.Body, maxDrain)).Decode(&out) // an empty or odd body is no cancel
	}
	return out.CancelRequested || resp.Header.Get(runners.HeaderCancelRequested) == "true", nil
}

// Complete reports how the job's attempt ended, with its last log lines
// when body has them.
func (c *Client) Complete(ctx context.Context, jobID string, body runners.CompleteBody) error {
	const op = "complete"
	switch {
	case jobID == "":
		return fmt.Errorf("%s: %w: the job id is empty", op, ErrBadInput)
	case !runners.JobFinal(body.Status):
		return fmt.Errorf("%s: %w: status %q is not %s, %s or %s", op, ErrBadInput, body.Status, runners.JobSucceeded, runners.JobFailed, runners.JobCanceled)
	}
	ctx, done := context.WithTimeout(ctx, CallTimeout)
	defer done()
	resp, err := c.send(ctx, op, http.MethodPost, runners.JobCompletePath(jobID), body, nil)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// IsPackageError reports whether err is a package that is not the one announced.
func IsPackageError(err error) bool {
	var pe *PackageError
	return errors.As(err, &pe)
}
