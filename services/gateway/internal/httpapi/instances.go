package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
)

// errInstanceGone ends a claim sent to a runners instance that stopped
// announcing itself, said it stops, or had no responder.
var errInstanceGone = errors.New("the runners instance holding the claim is gone")

// errAnswerLost ends a claim whose answer may have been lost: the
// connection to the bus of the runners instance holding it, or of this
// gateway (nats.ErrDisconnected), broke meanwhile. The claim is sent again,
// under its id; a job its first sending took comes with the repeat.
var errAnswerLost = errors.New("the claim's answer may have been lost: a connection to the bus was re-established")

// sendAgain tells whether a claim ended with err goes to an instance again.
func sendAgain(err error) bool {
	return errors.Is(err, errInstanceGone) || errors.Is(err, errAnswerLost)
}

// RunnerInstances keeps the runners instances that announce themselves
// (runners.SubjectPresence). A claim goes to one of them by name, and to
// another once that one's announcements lapse, so a claim held by an
// instance that died is answered within seconds, not after its wait. With
// none known (a previous release's instances, which do not announce), claims
// go to whichever instance the bus picks.
type RunnerInstances struct {
	now       func() time.Time
	mu        sync.Mutex
	live      map[string]*runnerInstance
	sentAgain *prometheus.CounterVec // exekra_gateway_claims_sent_again_total{reason}
}

// runnerInstance is one live instance: its last announcement, and a context
// canceled (errInstanceGone) when it goes, or (errAnswerLost) when its
// answers may have been lost, which every claim sent to it follows (one
// sweep for all, no timer per claim).
type runnerInstance struct {
	at         time.Time
	reconnects uint64
	gone       context.Context
	cancel     context.CancelCauseFunc
}

func newRunnerInstance(at time.Time, reconnects uint64) *runnerInstance {
	gone, cancel := context.WithCancelCause(context.Background())
	return &runnerInstance{at: at, reconnects: reconnects, gone: gone, cancel: cancel}
}

// NewRunnerInstances listens to the announcements on nc and drops the
// instances whose announcements lapse, until nc closes.
func NewRunnerInstances(nc *nats.Conn) (*RunnerInstances, error) {
	ri := &RunnerInstances{now: time.Now, live: map[string]*runnerInstance{},
		sentAgain: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_gateway_claims_sent_again_total",
			Help: "Claims sent to another runners instance under the same claim id, by reason: instance_gone (the instance holding it stopped announcing itself, said it stops, or had no responder) or answer_lost (a connection to the bus broke while it waited).",
		}, []string{"reason"}),
	}
	if _, err := nc.Subscribe(runners.SubjectPresence, func(m *nats.Msg) {
		var p runners.Presence
		if json.Unmarshal(m.Data, &p) == nil && p.Instance != "" {
			ri.heard(p)
		}
	}); err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", runners.SubjectPresence, err)
	}
	closed := nc.StatusChanged(nats.CLOSED)
	go func() {
		tick := time.NewTicker(runners.PresenceEvery / 4)
		defer tick.Stop()
		for {
			select {
			case <-closed:
				return
			case <-tick.C:
				ri.sweep()
			}
		}
	}()
	return ri, nil
}

// Collectors are the gateway's metrics of the runners instances: the live
// instances it knows (exekra_gateway_runners_instances) and the claims it
// sent again (exekra_gateway_claims_sent_again_total).
func (ri *RunnerInstances) Collectors() []prometheus.Collector {
	live := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "exekra_gateway_runners_instances",
		Help: "Runners instances this gateway hears announcing themselves (claims go to one of them by name).",
	}, func() float64 {
		ri.mu.Lock()
		defer ri.mu.Unlock()
		return float64(len(ri.live))
	})
	return []prometheus.Collector{live, ri.sentAgain}
}

// countSentAgain counts a claim sent again because of err (sendAgain).
func (ri *RunnerInstances) countSentAgain(err error) {
	reason := "answer_lost"
	if errors.Is(err, errInstanceGone) {
		reason = "instance_gone"
	}
	ri.sentAgain.WithLabelValues(reason).Inc()
}

func (ri *RunnerInstances) heard(p runners.Presence) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	if p.Stopping {
		ri.drop(p.Instance)
		return
	}
	in, ok := ri.live[p.Instance]
	switch {
	case !ok:
		ri.live[p.Instance] = newRunnerInstance(ri.now(), p.Reconnects)
	case in.reconnects != p.Reconnects:
		in.cancel(errAnswerLost)
		ri.live[p.Instance] = newRunnerInstance(ri.now(), p.Reconnects)
	default:
		in.at = ri.now()
	}
}

// sweep drops the instances silent for longer than runners.PresenceLapse
// while another is heard: their claims move to it. When every instance is
// silent, none is dropped: a Hub too busy to announce itself in time would
// otherwise have every claim it holds sent again, to the same busy
// instances (or none), piling more work onto it; the claims wait for their
// replies instead, and move once some instance is heard again.
func (ri *RunnerInstances) sweep() {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	now := ri.now()
	var silent []string
	for id, in := range ri.live {
		if now.Sub(in.at) > runners.PresenceLapse {
			silent = append(silent, id)
		}
	}
	if len(silent) == len(ri.live) {
		return
	}
	for _, id := range silent {
		ri.drop(id)
	}
}

// drop ends instance (with ri.mu held): the claims sent to it move on.
func (ri *RunnerInstances) drop(instance string) {
	if in, ok := ri.live[instance]; ok {
		in.cancel(errInstanceGone)
		delete(ri.live, instance)
	}
}

// Pick names a live instance at random, with the context that ends when it
// goes; false when none is known.
func (ri *RunnerInstances) Pick() (string, context.Context, bool) {
	if ri == nil {
		return "", nil, false
	}
	ri.mu.Lock()
	defer ri.mu.Unlock()
	now := ri.now()
	live := make([]string, 0, len(ri.live))
	for id, in := range ri.live {
		if now.Sub(in.at) <= runners.PresenceLapse {
			live = append(live, id)
		}
	}
	if len(live) == 0 {
		return "", nil, false
	}
	id := live[rand.IntN(len(live))]
	return id, ri.live[id].gone, true
}

// Alive tells whether instance announced itself within runners.PresenceLapse.
func (ri *RunnerInstances) Alive(instance string) bool {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	in, ok := ri.live[instance]
	return ok && ri.now().Sub(in.at) <= runners.PresenceLapse
}

// Forget drops instance (it had no responder on the bus).
func (ri *RunnerInstances) Forget(instance string) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	ri.drop(instance)
}
