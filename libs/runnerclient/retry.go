package runnerclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// Backoff after failures: exponential with full jitter, from BackoffBase up
// to BackoffCap, so that a fleet whose Hub restarts does not come back all
// at once. Retry-After is honoured up to MaxRetryAfter.
const (
	BackoffBase   = time.Second
	BackoffCap    = 60 * time.Second
	MaxRetryAfter = 10 * time.Minute
	// IntervalJitter spreads regular heartbeats ±10 % around the interval,
	// and adds up to 10 % to what Retry-After asks.
	IntervalJitter = 0.10
	// UpgradeRetry is the wait after the Hub refused the agent's version
	// (426 upgrade_required), ±IntervalJitter: long, since only an upgrade
	// of the agent or of the Hub ends it, and the fleet must not hammer the
	// Hub meanwhile.
	UpgradeRetry = 5 * time.Minute
)

// Backoff is the wait after the attempt-th consecutive failure (0 is the
// first): uniformly random in [0, min(cap, base·2^attempt)). random returns
// a number in [0, 1).
func Backoff(attempt int, random func() float64) time.Duration {
	ceiling := BackoffCap
	if attempt < 30 { // beyond that 2^attempt seconds is past the cap anyway
		ceiling = min(BackoffCap, BackoffBase<<max(attempt, 0))
	}
	return time.Duration(random() * float64(ceiling))
}

// Jitter spreads interval uniformly over ±IntervalJitter.
func Jitter(interval time.Duration, random func() float64) time.Duration {
	return time.Duration(float64(interval) * (1 - IntervalJitter + 2*IntervalJitter*random()))
}

// ParseRetryAfter reads a Retry-After header (seconds or an HTTP date)
// relative to now; zero when absent, unreadable or in the past; at most
// MaxRetryAfter.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get(runners.HeaderRetryAfter))
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(secs, 0), int64(MaxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = at.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// Wait is how long to wait before asking again after the failures-th
// consecutive failure (0 is the first) ended in err: what the Hub's
// Retry-After asked plus up to IntervalJitter of it, UpgradeRetry after a
// refused agent version, else Backoff.
func (c *Client) Wait(failures int, err error) time.Duration {
	if ra := RetryAfterOf(err); ra > 0 {
		return ra + time.Duration(c.random()*IntervalJitter*float64(ra))
	}
	if errors.Is(err, ErrUpgradeRequired) {
		return Jitter(UpgradeRetry, c.random)
	}
	return Backoff(failures, c.random)
}

// Permanent reports whether err is final: the credentials refused (401),
// another refusal (a 4xx other than 408 and 429), a package that is not
// the one announced, or a call this client would not make. Anything else —
// no answer, an unreadable one, 408, 429, 5xx — may pass.
func Permanent(err error) bool {
	if err == nil {
		return false
	}
	if s := Status(err); s >= 400 && s < 500 && s != http.StatusRequestTimeout && s != http.StatusTooManyRequests {
		return true
	}
	return IsPackageError(err) || errors.Is(err, ErrBadInput)
}

// FailureLevel is how loud a failure is: an error for what a person should
// look at (a certificate not trusted, a request the Hub refuses, such as an
// unsupported protocol), a warning for what passes by itself (network,
// 5xx, 429).
func FailureLevel(err error) slog.Level {
	if s := Status(err); IsCertificateError(err) || (s >= 400 && s < 500 && s != http.StatusTooManyRequests) {
		return slog.LevelError
	}
	return slog.LevelWarn
}

// Retry says how Client.Retry repeats a call.
type Retry struct {
	// Op names the call in the log: "<Op> failed; retrying".
	Op string
	// Log receives each failure that is retried; nil means the client's.
	Log *slog.Logger
	// Attempts is how many calls are made at most; 0 means no limit.
	Attempts int
	// Final reports whether an error ends the retries; nil means Permanent.
	Final func(error) bool
}

// Retry calls call until it succeeds, fails for good (r.Final), r.Attempts
// calls have failed or ctx ends, waiting between calls what Wait says
// (Retry-After honoured, else backoff with full jitter). It returns the
// last call's error; when ctx ended, ctx.Err() tells.
func (c *Client) Retry(ctx context.Context, r Retry, call func(context.Context) error) error {
	final, log := r.Final, r.Log
	if final == nil {
		final = Permanent
	}
	if log == nil {
		log = c.log
	}
	for failures := 0; ; failures++ {
		err := call(ctx)
		if err == nil || final(err) || ctx.Err() != nil || (r.Attempts > 0 && failures+1 >= r.Attempts) {
			return err
		}
		wait := c.Wait(failures, err)
		log.Log(ctx, FailureLevel(err), r.Op+" failed; retrying", "err", err.Error(), "status", Status(err),
			"failures", failures+1, "retry_in", wait.Round(time.Millisecond).String())
		if c.sleep(ctx, wait) != nil {
			return err
		}
	}
}

// NextJob claims a job, the Hub waiting up to wait for one; nil without an
// error means none came within wait. The claim has an id of its own
// (NewClaimID), sent again with every retry, so that a job handed out in
// a reply that was lost comes back rather than waiting out its pickup
// time. It retries every failure (logged as "claim failed; retrying")
// until the Hub answers, refuses the credentials (ErrCredentialsRefused)
// or ctx ends; a claim the Hub did not finish in time (ErrClaimUnfinished)
// is asked again at once, as no failure.
func (c *Client) NextJob(ctx context.Context, wait time.Duration) (*runners.ClaimedJob, error) {
	return c.NextJobAfter(ctx, wait, nil)
}

// NextJobAfter is NextJob carrying done, the result of the job this runner
// ran (ClaimOptions.Done), with every try. It gives up, with the error, when
// the Hub refuses the claim for good (a Permanent error: the result refused,
// or the agent's version): deliver the result on its own then.
func (c *Client) NextJobAfter(ctx context.Context, wait time.Duration, done *runners.ClaimCompletion) (*runners.ClaimedJob, error) {
	id, o := NewClaimID(), ClaimOptions{First: true, Done: done}
	final := func(err error) bool {
		return errors.Is(err, ErrCredentialsRefused) || errors.Is(err, ErrBadInput) || (done != nil && Permanent(err))
	}
	var job *runners.ClaimedJob
	err := c.Retry(ctx, Retry{Op: "claim", Final: final},
		func(ctx context.Context) error {
			for {
				var err error
				job, err = c.ClaimWith(ctx, wait, id, o)
				o.First = false
				if !errors.Is(err, ErrClaimUnfinished) {
					return err
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
		})
	return job, err
}

// NewClaimID names one claim (kept across its retries): 32 random hex digits.
func NewClaimID() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
