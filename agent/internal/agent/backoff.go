package agent

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff after failures: exponential with full jitter, from BackoffBase up
// to BackoffCap, so that a fleet whose Hub restarts does not come back all
// at once. Retry-After is honoured up to MaxRetryAfter.
const (
	BackoffBase   = time.Second
	BackoffCap    = 60 * time.Second
	MaxRetryAfter = 10 * time.Minute
	// IntervalJitter spreads regular heartbeats ±10 % around the interval.
	IntervalJitter = 0.10
)

// Backoff is the wait after the attempt-th consecutive failure (0 is the
// first): uniformly random in [0, min(cap, base·2^attempt)). random returns
// a number in [0, 1).
func Backoff(attempt int, random func() float64) time.Duration {
	ceiling := BackoffCap
	if attempt < 30 { // beyond that 2^attempt seconds is past the cap anyway
		ceiling = min(BackoffCap, BackoffBase<<attempt)
	}
	return time.Duration(random() * float64(ceiling))
}

// Jitter spreads interval uniformly over ±IntervalJitter.
func Jitter(interval time.Duration, random func() float64) time.Duration {
	return time.Duration(float64(interval) * (1 - IntervalJitter + 2*IntervalJitter*random()))
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date) relative
// to now; zero when absent, unreadable or in the past; at most MaxRetryAfter.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
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
