package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check is one critical dependency of a process: Probe returns nil while it
// is reachable. Name labels it in /readyz ("database", "nats", "redis" ...).
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// DefaultReadyTimeout bounds each probe of one /readyz request.
const DefaultReadyTimeout = 2 * time.Second

// Readiness answers /readyz: 200 while every check passes, 503 naming the
// failing ones otherwise, and 503 "starting" until the checks are set (the
// process is still wiring its dependencies).
type Readiness struct {
	Timeout time.Duration // per probe; DefaultReadyTimeout when zero

	mu     sync.RWMutex
	set    bool
	checks []Check
}

// Set replaces the checks; from now on /readyz probes them.
func (r *Readiness) Set(checks ...Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checks, r.set = append([]Check(nil), checks...), true
}

// ReadyReport is the body of /readyz.
type ReadyReport struct {
	Status string            `json:"status"`           // ready | not_ready | starting
	Checks map[string]string `json:"checks,omitempty"` // name -> up | down
	Down   []string          `json:"down,omitempty"`   // the failing checks, sorted
}

// Report probes every check side by side.
func (r *Readiness) Report(ctx context.Context) ReadyReport {
	r.mu.RLock()
	set, checks := r.set, r.checks
	r.mu.RUnlock()
	if !set {
		return ReadyReport{Status: "starting"}
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultReadyTimeout
	}
	results := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			pctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			results[i] = probe(pctx, c)
		})
	}
	wg.Wait()
	rep := ReadyReport{Status: "ready", Checks: map[string]string{}}
	for i, c := range checks {
		if results[i] != nil {
			rep.Checks[c.Name] = "down"
			rep.Down = append(rep.Down, c.Name)
			continue
		}
		rep.Checks[c.Name] = "up"
	}
	if len(rep.Down) > 0 {
		rep.Status = "not_ready"
		sort.Strings(rep.Down)
	}
	return rep
}

var errProbePanicked = errors.New("probe panicked")

// probe runs one check, counting a panic or a probe that ignores its
// context past the deadline as down.
func probe(ctx context.Context, c Check) (err error) {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- errProbePanicked
			}
		}()
		done <- c.Probe(ctx)
	}()
	select {
	case err = <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP answers /readyz with a ReadyReport as JSON.
func (r *Readiness) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rep := r.Report(req.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if rep.Status != "ready" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	json.NewEncoder(w).Encode(rep)
}
