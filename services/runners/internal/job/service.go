package job

import (
	"container/list"
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
)

// Defaults of Deps.
const (
	DefaultLease = 60 * time.Second // a running job's lease, renewed by logs and heartbeats
	// DefaultPickup is how long a runner has from its claim to its first
	// word about the job (the agent confirms at once; an agent that only
	// heartbeats names it within an interval). A claim nobody takes up —
	// its runner died waiting, or its reply was lost for good — goes back
	// to pending then, without counting as an attempt.
	DefaultPickup = 30 * time.Second
	// MaxUnstartedClaims is how many claims of a job may go unstarted
	// before it fails with runner_lost.
	MaxUnstartedClaims  = 10
	DefaultTimeoutGrace = 30 * time.Second // past timeout_seconds the runner gets to report before the reaper fails the job
	DefaultLogCap       = 1 << 20          // bytes of log messages kept per job; then one "[log truncated]" line
	DefaultRecheck      = 5 * time.Second  // a waiting claim looks again even without a wake-up (see recheckEvery)
	// MaxRechecks bounds the looks a second that an instance's waiting
	// claims make without a wake-up, all together.
	MaxRechecks       = 1000
	ReapInterval      = 2 * time.Second
	ReconcileInterval = 30 * time.Second
)

// Deps are what a Service is built from.
type Deps struct {
	Store        Store
	Queue        Queue
	Runners      Runners
	License      License
	Assets       Assets // may be nil: no check of declared assets
	Meter        Meter  // may be nil
	Log          *slog.Logger
	Now          func() time.Time // time.Now unless a test controls the clock
	Lease        time.Duration
	Pickup       time.Duration
	TimeoutGrace time.Duration // DefaultTimeoutGrace when zero; negative means none
	LogCap       int64
	Recheck      time.Duration
}

// Service is the jobs domain's operations.
type Service struct {
	Deps
	waiters *waiters
}

// NewService checks d and fills its defaults.
func NewService(d Deps) (*Service, error) {
	if d.Store == nil || d.Queue == nil || d.Runners == nil || d.License == nil || d.Log == nil {
		return nil, errors.New("job service: missing dependency")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Lease <= 0 {
		d.Lease = DefaultLease
	}
	if d.Pickup <= 0 {
		d.Pickup = DefaultPickup
	}
	if d.TimeoutGrace == 0 {
		d.TimeoutGrace = DefaultTimeoutGrace
	}
	d.TimeoutGrace = max(d.TimeoutGrace, 0)
	if d.LogCap <= 0 {
		d.LogCap = DefaultLogCap
	}
	if d.Recheck <= 0 {
		d.Recheck = DefaultRecheck
	}
	if d.Meter == nil {
		d.Meter = noMeter{}
	}
	d.Store = newKnownPackages(d.Store, d.Now)
	return &Service{Deps: d, waiters: newWaiters()}, nil
}

type noMeter struct{}

func (noMeter) JobStatus(string)       {}
func (noMeter) QueueDepth(string, int) {}

// now is the service's clock at the precision PostgreSQL keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// requireOperator re-checks, behind the gateway, that a user of at least
// the OPERATOR role asks.
func requireOperator(ctx context.Context) error {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || !identity.RoleAtLeast(a.Role, identity.RoleOperator) {
		return errs.E(errs.PermissionDenied, "jobs need a signed-in user with the OPERATOR role or higher")
	}
	return nil
}

// waiters wakes the claims waiting for an environment, and the waits of
// one claim (runner and claim id) when one of them took a job.
type waiters struct {
	envs    lines
	claims  signals
	stopped chan struct{}
	once    sync.Once
}

func newWaiters() *waiters {
	return &waiters{envs: lines{m: map[string]*list.List{}}, claims: signals{m: map[string]chan struct{}{}},
		stopped: make(chan struct{})}
}

// wake wakes as many of environment's waiting claims as jobs were added,
// the longest waiting first: one job wakes one claim, not every one.
func (w *waiters) wake(environment string, added int) { w.envs.wake(environment, added, 0) }

// claimChannel is closed when another wait of the same claim (key: runner
// and claim id) on this instance claims a job: a wait whose caller is gone
// (a gateway killed, a connection dropped) and the agent's retry share the
// claim id, so the retry takes over what the orphan claimed.
func (w *waiters) claimChannel(key string) <-chan struct{} {
	if key == "" {
		return nil // never closed: a claim without an id has no twin
	}
	return w.claims.channel(key)
}

// claimed tells the other waits of the same claim that it holds a job.
func (w *waiters) claimed(key string) {
	if key != "" {
		w.claims.fire(key)
	}
}

// release forgets a claim's channel when its wait ends (the next wait of
// the same claim makes another).
func (w *waiters) release(key string, c <-chan struct{}) {
	if key != "" {
		w.claims.forget(key, c)
	}
}

// lines holds per environment its waiting claims, longest waiting first.
// A claim joins before it looks at the queue, so no wake-up falls between
// the look and the wait. A woken claim that finds entries left it cannot
// run (they are for other runners) passes the wake-up on to the next two
// in line, and they likewise: within a few rounds every claim that was
// waiting when the job came has looked, and those that joined after (the
// woken ones again) are not woken by that wake-up, so it ends.
type lines struct {
	mu  sync.Mutex
	seq uint64
	n   int                   // claims in line, all environments
	m   map[string]*list.List // of *waiting
}

// waiting counts the claims in line.
func (l *lines) waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// waiting is one claim in line. c is closed when it is woken; bound is then
// the wake-up's extent: only claims that joined before it are woken on.
type waiting struct {
	c     chan struct{}
	seq   uint64
	bound uint64
	elem  *list.Element
}

// join puts a claim at the end of environment's line.
func (l *lines) join(environment string) *waiting {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, ok := l.m[environment]
	if !ok {
		q = list.New()
		l.m[environment] = q
	}
	l.seq++
	l.n++
	w := &waiting{c: make(chan struct{}), seq: l.seq}
	w.elem = q.PushBack(w)
	return w
}

// leave takes a claim out of line unless it was woken.
func (l *lines) leave(environment string, w *waiting) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.elem != nil {
		l.m[environment].Remove(w.elem)
		w.elem = nil
		l.n--
	}
}

// quit takes a claim that is done waiting out of line; a wake-up it got
// and will not answer with a look (it took a job meanwhile, or it ends)
// goes to the next in line, so that no queued job waits for a recheck.
func (l *lines) quit(environment string, w *waiting) {
	l.leave(environment, w)
	select {
	case <-w.c:
		l.wake(environment, 1, w.bound)
	default:
	}
}

// wake wakes the first n claims in line that joined before bound (0: all
// in line now).
func (l *lines) wake(environment string, n int, bound uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	q, ok := l.m[environment]
	if !ok {
		return
	}
	if bound == 0 {
		bound = l.seq + 1
	}
	for ; n > 0; n-- {
		front := q.Front()
		if front == nil {
			return
		}
		w := front.Value.(*waiting)
		if w.seq >= bound {
			return
		}
		q.Remove(front)
		l.n--
		w.elem, w.bound = nil, bound
		close(w.c)
	}
}

// signals hands out per key a channel that is closed at the key's next fire.
type signals struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func (s *signals) channel(key string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.m[key]
	if !ok {
		c = make(chan struct{})
		s.m[key] = c
	}
	return c
}

func (s *signals) fire(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.m[key]; ok {
		close(c)
		delete(s.m, key)
	}
}

// forget drops key's channel if it is still c.
func (s *signals) forget(key string, c <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.m[key]; ok && (<-chan struct{})(cur) == c {
		delete(s.m, key)
	}
}

// stop ends every wait, now and later (the instance is stopping).
func (w *waiters) stop() { w.once.Do(func() { close(w.stopped) }) }
