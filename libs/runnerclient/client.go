// Package runnerclient is the client of the runner protocol (docs/api.md
// "Runner protocol"): what a Runner says to the Hub's gateway over HTTPS —
// heartbeats, job claims (named by a claim id, long-polling up to a wait),
// package downloads checked against the claim's size and SHA-256, log
// uploads and completions — as one runner, with HTTP Basic (runner id,
// machine secret). The exekra-runner agent and the load generator both go
// through it.
//
// Each call is made once and its failure returned as an error that says
// what the Hub answered (HubError: status, API error, Retry-After) or
// that it did not; Retry repeats a call, waiting what Retry-After asks or
// backing off with full jitter, and NextJob claims under one claim id
// until the Hub answers.
package runnerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
)

// CallTimeout bounds a heartbeat, a log upload or a completion; a claim may
// take its wait plus CallTimeout; a download is bounded by its context only.
const CallTimeout = 30 * time.Second

// Reply size limits: a JSON reply is read up to maxReply, an error body or
// what is drained for the connection's reuse up to maxDrain.
const (
	maxReply = 1 << 20
	maxDrain = 64 << 10
)

// Config says which Hub to talk to, as which runner and how.
type Config struct {
	// Hub is the Hub's base URL, https://host:8443 (http:// is accepted:
	// refusing it is the caller's policy).
	Hub string
	// RunnerID and Secret are the runner's id and machine secret, sent as
	// HTTP Basic on every call and never logged.
	RunnerID string
	Secret   string
	// UserAgent names the program; "" means exekra-runner/<build version>.
	UserAgent string
	// HTTP carries the calls (its transport, TLS and proxy); nil means
	// NewHTTPClient(nil). Its Timeout is not used (see CallTimeout) and
	// redirects are never followed: the credentials go to the Hub only.
	HTTP *http.Client
	// Log receives Retry's account of failures; nil discards it.
	Log *slog.Logger
	// Random returns numbers in [0, 1) for the jitter; nil means math/rand/v2.
	Random func() float64
	// Sleep waits d or until ctx ends (returning its error); nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock Retry-After dates are read against; nil means time.Now.
	Now func() time.Time
	// StartOnClaim makes every claim take its job up (runners.HeaderClaimStart):
	// a job whose Status is then runners.JobRunning needs no take-up upload.
	// A Hub that does not know the header answers runners.JobClaimed.
	StartOnClaim bool
}

// Client talks to one Hub as one runner. It is safe for concurrent use.
type Client struct {
	base      string // scheme://host[/prefix], no trailing slash
	http      *http.Client
	id        string
	secret    string
	userAgent string
	log       *slog.Logger
	random    func() float64
	sleep     func(ctx context.Context, d time.Duration) error
	now       func() time.Time
	start     bool
}

// New checks cfg and returns its client.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.Hub, "/"))
	switch {
	case cfg.Hub == "":
		return nil, errors.New("runnerclient: the Hub's URL is empty")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, fmt.Errorf("runnerclient: the Hub's URL %q is not an https:// URL with a host", cfg.Hub)
	case u.User != nil:
		return nil, errors.New("runnerclient: the Hub's URL must not hold credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("runnerclient: the Hub's URL must not have a query or fragment")
	case strings.TrimSpace(cfg.RunnerID) == "" || strings.ContainsAny(cfg.RunnerID, ":\r\n"):
		return nil, errors.New("runnerclient: the runner id is empty or holds a colon or line break")
	case cfg.Secret == "" || strings.ContainsAny(cfg.Secret, "\r\n"):
		return nil, errors.New("runnerclient: the machine secret is empty or holds a line break")
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = NewHTTPClient(nil)
	}
	c := &Client{
		base: u.String(),
		// Same transport and cookies; no overall timeout (each call sets its
		// own through its context) and no redirects.
		http:      &http.Client{Transport: hc.Transport, Jar: hc.Jar, CheckRedirect: noRedirect},
		id:        cfg.RunnerID,
		secret:    cfg.Secret,
		userAgent: cfg.UserAgent,
		log:       cfg.Log,
		random:    cfg.Random,
		sleep:     cfg.Sleep,
		now:       cfg.Now,
		start:     cfg.StartOnClaim,
	}
	if c.userAgent == "" {
		c.userAgent = runners.UserAgentPrefix + buildinfo.Version
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.random == nil {
		c.random = rand.Float64
	}
	if c.sleep == nil {
		c.sleep = Sleep
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c, nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// RunnerID is the runner this client speaks as.
func (c *Client) RunnerID() string { return c.id }

// Sleep waits d, or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// ErrCredentialsRefused is the Hub answering 401: this runner's secret was
// regenerated or the runner deleted. Retrying cannot help. A HubError of
// status 401 is this error (errors.Is).
var ErrCredentialsRefused = errors.New("the Hub refused this runner's credentials (401): its machine secret was " +
	"regenerated or the runner was deleted; put the new secret in the secret file (or register the runner again) " +
	"and start the agent again")

// ErrUpgradeRequired is the Hub answering 426 upgrade_required: this
// agent's version is outside the Hub's skew policy. A HubError of status
// 426 is this error (errors.Is); its message names the version to install.
var ErrUpgradeRequired = errors.New("the Hub refuses this agent's version")

// ErrBadReply is a success answer whose body is not what the protocol says.
var ErrBadReply = errors.New("the Hub's reply is unreadable")

// ErrClaimUnfinished is a claim the Hub was too busy to finish within its
// wait (a 204 with runners.HeaderClaimRepeat): ask again at once under the
// same claim id. It is not a failure.
var ErrClaimUnfinished = errors.New("the Hub did not finish the claim in time; repeat it under its id")

// ErrBadInput is a call this client refuses to make: what the caller gave
// cannot be what the protocol asks (an empty job id, an unknown status).
var ErrBadInput = errors.New("bad input")

// HubError is an answer of the Hub other than the call's success.
type HubError struct {
	Op      string // heartbeat, claim, package download, log upload, complete, assets
	Status  int    // the HTTP status
	Code    string // the API error's code; "" when the body held none
	Message string // the API error's message
	// RetryAfter is what the Retry-After header of a 429 or 503 asked
	// (at most MaxRetryAfter); 0 when nothing.
	RetryAfter time.Duration
}

func (e *HubError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return e.Op + ": " + ErrCredentialsRefused.Error()
	}
	what := "no API error in the body"
	if e.Code != "" {
		what = e.Code + ": " + e.Message
	}
	return fmt.Sprintf("%s: the Hub answered %d %s: %s", e.Op, e.Status, http.StatusText(e.Status), what)
}

// Is makes a 401 ErrCredentialsRefused, a 426 ErrUpgradeRequired, a 409
// asset_missing ErrAssetMissing and a 403 ErrJobNotHeld.
func (e *HubError) Is(target error) bool {
	switch target {
	case ErrCredentialsRefused:
		return e.Status == http.StatusUnauthorized
	case ErrUpgradeRequired:
		return e.Status == http.StatusUpgradeRequired
	case ErrAssetMissing:
		return e.isAssetMissing()
	case ErrJobNotHeld:
		return e.isJobNotHeld()
	}
	return false
}

// HubMessage is the message of the Hub's API error in err's chain; "" when
// the Hub did not answer with one.
func HubMessage(err error) string {
	var he *HubError
	if errors.As(err, &he) {
		return he.Message
	}
	return ""
}

// Status is the HTTP status of the HubError in err's chain; 0 when the Hub
// did not answer (or answered with success).
func Status(err error) int {
	var he *HubError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// RetryAfterOf is what the Hub's Retry-After asked in err; 0 when nothing.
func RetryAfterOf(err error) time.Duration {
	var he *HubError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// PackageError is a downloaded package that is not the one the claim
// announced (size or SHA-256), or a claim announcing no usable checksum.
type PackageError struct {
	Name, Version string
	Problem       string
}

func (e *PackageError) Error() string {
	return fmt.Sprintf("package %s %s: %s", e.Name, e.Version, e.Problem)
}

// send makes one authenticated call: path is a runners.Path… filled in (a
// query allowed), body is encoded as JSON unless nil. A 2xx answer is
// returned for the caller to read and close; anything else becomes a
// *HubError (the body drained and closed).
func (c *Client) send(ctx context.Context, op, method, path string, body any, header http.Header) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("%s: encode the body: %w", op, err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.SetBasicAuth(c.id, c.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set(runners.HeaderProtocol, runners.ProtocolVersion)
	req.Header.Set(runners.HeaderUserAgent, c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer drain(resp)
	he := &HubError{Op: op, Status: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		he.RetryAfter = ParseRetryAfter(resp.Header, c.now())
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, maxDrain)).Decode(&env) == nil {
		he.Code, he.Message = env.Error.Code, env.Error.Message
	}
	return nil, he
}

// drain reads what is left of a small answer (so the connection is
// reused) and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
}
