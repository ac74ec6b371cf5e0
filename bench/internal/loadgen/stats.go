package loadgen

import (
	"errors"
	"maps"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/exekra/hub/libs/hubclient"
)

// percentile returns the p-quantile (0 < p <= 1) of sorted by the
// nearest-rank method: the smallest sample that at least p of all samples
// do not exceed. The epsilon keeps 0.07*100 from rounding up to rank 8.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// perSecond is n events over the span from..to; 0 for an empty span.
func perSecond(n int, from, to time.Time) float64 {
	span := to.Sub(from).Seconds()
	if n == 0 || span <= 0 {
		return 0
	}
	return float64(n) / span
}

// Errors counts failed calls per operation and reason: the HTTP status of
// a non-2xx answer, "network" when no answer came, or what was wrong with
// a 2xx answer.
type Errors struct {
	mu sync.Mutex
	n  map[string]map[string]int
}

// Add counts one failure of op.
func (e *Errors) Add(op, reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.n == nil {
		e.n = map[string]map[string]int{}
	}
	if e.n[op] == nil {
		e.n[op] = map[string]int{}
	}
	e.n[op][reason]++
}

// Snapshot returns a copy of the counts: operation -> reason -> count.
func (e *Errors) Snapshot() map[string]map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]map[string]int, len(e.n))
	for op, reasons := range e.n {
		out[op] = maps.Clone(reasons)
	}
	return out
}

// apiReason is the reason a hubclient call failed: the HTTP status of an
// error answer, else "network".
func apiReason(err error) string {
	var apiErr *hubclient.APIError
	if errors.As(err, &apiErr) {
		return strconv.Itoa(apiErr.Status)
	}
	return "network"
}
