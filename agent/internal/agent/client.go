package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// ErrCredentialsRefused is the Hub answering 401: this runner's secret was
// regenerated or the runner deleted. Retrying cannot help.
var ErrCredentialsRefused = errors.New("the Hub refused this runner's credentials (401): its machine secret was " +
	"regenerated or the runner was deleted; put the new secret in the secret file (or register the runner again) " +
	"and start the agent again")

// result is what one heartbeat came to.
type result struct {
	status     int           // the HTTP status; 0 when no answer came
	interval   time.Duration // on success: the interval the Hub asks for
	retryAfter time.Duration // on 429 and 503: how long the Hub asks to wait
	cancelJobs []string      // on success: the jobs the Hub wants stopped
	err        error
}

// hubClient sends heartbeats to one Hub as one runner.
type hubClient struct {
	base      *url.URL
	http      *http.Client
	long      *http.Client // no overall timeout: claims and downloads set their own through the context
	id        string
	secret    secret
	userAgent string
	now       func() time.Time
}

// heartbeat sends hb and reads the answer.
func (c *hubClient) heartbeat(ctx context.Context, hb runners.Heartbeat) result {
	body, err := json.Marshal(hb)
	if err != nil {
		return result{err: fmt.Errorf("encode heartbeat: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.JoinPath(runners.PathHeartbeat).String(), bytes.NewReader(body))
	if err != nil {
		return result{err: err}
	}
	req.SetBasicAuth(c.id, string(c.secret))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(runners.HeaderProtocol, runners.ProtocolVersion)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
		resp.Body.Close()
	}()
	return c.read(resp)
}

// read turns the Hub's answer into a result.
func (c *hubClient) read(resp *http.Response) result {
	r := result{status: resp.StatusCode}
	switch resp.StatusCode {
	case http.StatusOK:
		var out runners.HeartbeatResponse
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
			r.err = fmt.Errorf("the Hub's heartbeat reply is unreadable: %w", err)
			return r
		}
		r.interval = clampInterval(time.Duration(out.HeartbeatIntervalSeconds) * time.Second)
		r.cancelJobs = out.CancelJobIDs
		return r
	case http.StatusUnauthorized:
		r.err = ErrCredentialsRefused
		return r
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		r.retryAfter = RetryAfter(resp.Header, c.now())
	}
	r.err = fmt.Errorf("the Hub answered %s: %s", resp.Status, apiMessage(resp.Body))
	return r
}

// clampInterval keeps the Hub's interval within sane bounds (1 s to 1 h);
// none at all means the default.
func clampInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return runners.DefaultHeartbeatInterval
	}
	return min(max(d, time.Second), time.Hour)
}

// apiMessage reads the message of an API error body, if it is one.
func apiMessage(body io.Reader) string {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(body, 64<<10)).Decode(&env); err != nil || env.Error.Code == "" {
		return "no API error in the body"
	}
	return env.Error.Code + ": " + env.Error.Message
}
