package httpapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/nats-io/nats.go"
)

// RunnerInstances keeps the runners instances that announce themselves
// (runners.SubjectPresence). A claim goes to one of them by name, and to
// another once that one's announcements lapse, so a claim held by an
// instance that died is answered within seconds, not after its wait. With
// none known (a previous release's instances, which do not announce), claims
// go to whichever instance the bus picks.
type RunnerInstances struct {
	now  func() time.Time
	mu   sync.Mutex
	seen map[string]time.Time // instance -> its last announcement
}

// NewRunnerInstances listens to the announcements on nc.
func NewRunnerInstances(nc *nats.Conn) (*RunnerInstances, error) {
	ri := &RunnerInstances{now: time.Now, seen: map[string]time.Time{}}
	if _, err := nc.Subscribe(runners.SubjectPresence, func(m *nats.Msg) {
		var p runners.Presence
		if json.Unmarshal(m.Data, &p) == nil && p.Instance != "" {
			ri.heard(p)
		}
	}); err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", runners.SubjectPresence, err)
	}
	return ri, nil
}

func (ri *RunnerInstances) heard(p runners.Presence) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if p.Stopping {
		delete(ri.seen, p.Instance)
		return
	}
	now := ri.now()
	ri.seen[p.Instance] = now
	for id, at := range ri.seen { // instances gone long ago
		if now.Sub(at) > 10*runners.PresenceLapse {
			delete(ri.seen, id)
		}
	}
}

// Pick names a live instance at random; false when none is known.
func (ri *RunnerInstances) Pick() (string, bool) {
	if ri == nil {
		return "", false
	}
	ri.mu.Lock()
	defer ri.mu.Unlock()
	now := ri.now()
	live := make([]string, 0, len(ri.seen))
	for id, at := range ri.seen {
		if now.Sub(at) <= runners.PresenceLapse {
			live = append(live, id)
		}
	}
	if len(live) == 0 {
		return "", false
	}
	return live[rand.IntN(len(live))], true
}

// Alive tells whether instance announced itself within runners.PresenceLapse.
func (ri *RunnerInstances) Alive(instance string) bool {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	at, ok := ri.seen[instance]
	return ok && ri.now().Sub(at) <= runners.PresenceLapse
}

// Forget drops instance (it had no responder on the bus).
func (ri *RunnerInstances) Forget(instance string) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	delete(ri.seen, instance)
}
