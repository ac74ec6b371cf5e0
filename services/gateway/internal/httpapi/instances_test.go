package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/runnerclient"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// announce publishes instance's presence on nc every PresenceEvery until stop closes.
func announce(t *testing.T, nc *nats.Conn, instance string, stop <-chan struct{}) {
	t.Helper()
	data, _ := json.Marshal(runners.Presence{Instance: instance})
	go func() {
		tick := time.NewTicker(runners.PresenceEvery)
		defer tick.Stop()
		for {
			nc.Publish(runners.SubjectPresence, data)
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
}

// newClaimGateway serves a gateway's claim route on a bus of its own: the
// bus's URL, the gateway's connection and instance tracker, and a runner's
// client of the route.
func newClaimGateway(t *testing.T) (string, *nats.Conn, *RunnerInstances, *runnerclient.Client) {
	t.Helper()
	url := natstest.URL(t)
	gw := natstest.Connect(t, url)
	instances, err := NewRunnerInstances(gw)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	s := &Server{Log: log, NATS: natsrpc.NewClient(gw, nil), Instances: instances}
	e := gin.New()
	e.POST(runners.PathClaim, web.Wrap(log, s.claimJob))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	c, err := runnerclient.New(runnerclient.Config{Hub: srv.URL, RunnerID: "0b0c5f5e-8d7e-4b64-9c55-3b1f8f0e7a11", Secret: stubSecret})
	if err != nil {
		t.Fatal(err)
	}
	return url, gw, instances, c
}

// A claim held by a runners instance that dies is sent to another instance
// once the dead one's announcements lapse: the agent gets its job within
// seconds, not after its 30 s wait.
func TestAClaimMovesOnWhenItsInstanceDies(t *testing.T) {
	url, _, instances, c := newClaimGateway(t)

	// Instance a takes the claim and never answers (it waits for a job), then dies.
	a := natstest.Connect(t, url)
	held := make(chan string, 1)
	if _, err := a.Subscribe(runners.InstanceClaimSubject("a"), func(m *nats.Msg) {
		var req runners.ClaimRequest
		json.Unmarshal(m.Data, &req)
		held <- req.ClaimID
	}); err != nil {
		t.Fatal(err)
	}
	stopA := make(chan struct{})
	announce(t, a, "a", stopA)
	deadline := time.Now().Add(5 * time.Second)
	for instances.Alive("a") == false && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}

	type result struct {
		job *runners.ClaimedJob
		err error
		at  time.Time
	}
	got := make(chan result, 1)
	go func() {
		job, err := c.Claim(context.Background(), 30*time.Second, "claim-1")
		got <- result{job, err, time.Now()}
	}()
	select {
	case id := <-held:
		if id != "claim-1" {
			t.Fatalf("instance a got claim %q", id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the claim never reached the only instance known")
	}

	// Instance b comes; a dies (its connection and its announcements end).
	b := natstest.Connect(t, url)
	if _, err := b.Subscribe(runners.InstanceClaimSubject("b"), func(m *nats.Msg) {
		var req runners.ClaimRequest
		json.Unmarshal(m.Data, &req)
		if req.ClaimID != "claim-1" {
			m.Respond([]byte(`{"job":null}`))
			return
		}
		m.Respond([]byte(`{"job":{"id":"j1","attempt":1,"package":{"name":"etl","version":"1.0.0","sha256":"ab","size_bytes":1},"timeout_seconds":60}}`))
	}); err != nil {
		t.Fatal(err)
	}
	stopB := make(chan struct{})
	t.Cleanup(func() { close(stopB) })
	announce(t, b, "b", stopB)
	close(stopA)
	a.Close()
	died := time.Now()

	select {
	case r := <-got:
		if r.err != nil || r.job == nil || r.job.ID != "j1" {
			t.Fatalf("the claim after its instance died: %+v, %v; want job j1 from instance b", r.job, r.err)
		}
		took := r.at.Sub(died)
		t.Logf("the claim was answered by another instance %s after its instance died", took.Round(10*time.Millisecond))
		if took > 5*time.Second {
			t.Errorf("the claim moved on after %s; want within 5 s", took)
		}
		if n := testutil.ToFloat64(instances.sentAgain.WithLabelValues("instance_gone")); n != 1 {
			t.Errorf("exekra_gateway_claims_sent_again_total{reason=\"instance_gone\"} = %v; want 1", n)
		}
		if n := testutil.CollectAndCount(instances.sentAgain, "exekra_gateway_claims_sent_again_total"); n != 1 {
			t.Errorf("claims sent again counted under %d reasons; want 1 (instance_gone)", n)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("the claim was not answered after its instance died")
	}
}

func TestRunnerInstancesKeepTheLiveOnes(t *testing.T) {
	now := time.Unix(1000, 0)
	ri := &RunnerInstances{now: func() time.Time { return now }, live: map[string]*runnerInstance{}}
	if _, _, ok := ri.Pick(); ok {
		t.Fatal("picked an instance before any announced itself")
	}
	ri.heard(runners.Presence{Instance: "a"})
	ri.heard(runners.Presence{Instance: "b"})
	id, gone, ok := ri.Pick()
	if !ok || (id != "a" && id != "b") {
		t.Fatalf("Pick = %q, %v", id, ok)
	}
	if gone.Err() != nil {
		t.Fatalf("the context of live instance %s has ended", id)
	}
	known := ri.Collectors()[0] // exekra_gateway_runners_instances
	if n := testutil.ToFloat64(known); n != 2 {
		t.Errorf("exekra_gateway_runners_instances = %v with a and b heard; want 2", n)
	}
	ri.heard(runners.Presence{Instance: "b", Stopping: true})
	if ri.Alive("b") {
		t.Error("an instance that said it stops is still alive")
	}
	if n := testutil.ToFloat64(known); n != 1 {
		t.Errorf("exekra_gateway_runners_instances = %v after b said it stops; want 1", n)
	}
	now = now.Add(runners.PresenceLapse + time.Millisecond)
	if ri.Alive("a") {
		t.Error("an instance silent for longer than the lapse is still alive")
	}
	if id, _, ok := ri.Pick(); ok {
		t.Errorf("picked %q, which is silent", id)
	}
	ri.sweep()
	if id == "a" && gone.Err() != nil { // b said it stops; a, silent, is the only one left
		t.Error("the only instance left was dropped for its silence: with none heard, its claims would only pile up again")
	}
	ri.heard(runners.Presence{Instance: "c"})
	ri.sweep()
	if !errors.Is(context.Cause(gone), errInstanceGone) { // b said it stops, a fell silent while c is heard: both went
		t.Errorf("the context of the instance picked (%s) did not end with errInstanceGone when it went: %v", id, context.Cause(gone))
	}
	if ri.Alive("a") || !ri.Alive("c") {
		t.Error("a silent instance stayed while another was heard, or the one heard was dropped")
	}
	t.Run("a changed reconnect count ends the instance's claims, and keeps it", func(t *testing.T) {
		ri.heard(runners.Presence{Instance: "c", Reconnects: 0})
		_, before, _ := ri.Pick()
		ri.heard(runners.Presence{Instance: "c", Reconnects: 1})
		if !errors.Is(context.Cause(before), errAnswerLost) {
			t.Errorf("the claims' context ended with %v, want errAnswerLost", context.Cause(before))
		}
		if id, after, ok := ri.Pick(); !ok || id != "c" || after.Err() != nil {
			t.Errorf("after the reconnect Pick = %q, %v (context %v)", id, ok, after.Err())
		}
	})
	var nilInstances *RunnerInstances
	if _, _, ok := nilInstances.Pick(); ok {
		t.Error("no tracker picked an instance")
	}
}

// A claim whose answer may have been lost — the bus connection of the
// runners instance holding it, or of the gateway, was re-established — is
// sent again under its id (not as a first sending), so that a job its
// first sending took comes with the repeat instead of after the claim's
// wait.
func TestAClaimIsSentAgainWhenAnAnswerMayHaveBeenLost(t *testing.T) {
	for _, tc := range []struct {
		name     string
		breakOff func(gw *nats.Conn, reannounce func())
	}{
		{"the instance reconnected", func(_ *nats.Conn, reannounce func()) { reannounce() }},
		{"the gateway reconnected", func(gw *nats.Conn, _ func()) {
			if err := gw.ForceReconnect(); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, gw, instances, c := newClaimGateway(t)

			// The instance never answers the first sending (its answer is
			// lost); it answers a repeat with the job.
			a := natstest.Connect(t, url)
			sent := make(chan runners.ClaimRequest, 4)
			if _, err := a.Subscribe(runners.InstanceClaimSubject("a"), func(m *nats.Msg) {
				var req runners.ClaimRequest
				json.Unmarshal(m.Data, &req)
				sent <- req
				if !req.First {
					m.Respond([]byte(`{"job":{"id":"j1","attempt":1,"package":{"name":"etl","version":"1.0.0","sha256":"ab","size_bytes":1},"timeout_seconds":60}}`))
				}
			}); err != nil {
				t.Fatal(err)
			}
			presence := func(reconnects uint64) {
				data, _ := json.Marshal(runners.Presence{Instance: "a", Reconnects: reconnects})
				a.Publish(runners.SubjectPresence, data)
				a.Flush()
			}
			presence(0)
			for deadline := time.Now().Add(5 * time.Second); !instances.Alive("a") && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			type result struct {
				job *runners.ClaimedJob
				err error
			}
			got := make(chan result, 1)
			go func() {
				job, err := c.ClaimFirst(context.Background(), 30*time.Second, "claim-1")
				got <- result{job, err}
			}()
			select {
			case req := <-sent:
				if !req.First || req.ClaimID != "claim-1" {
					t.Fatalf("first sending %+v", req)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the claim never reached the instance")
			}
			broke := time.Now()
			tc.breakOff(gw, func() { presence(1) })
			select {
			case r := <-got:
				if r.err != nil || r.job == nil || r.job.ID != "j1" {
					t.Fatalf("the claim = %+v, %v; want job j1 from its repeat", r.job, r.err)
				}
				t.Logf("answered %s after the break", time.Since(broke).Round(10*time.Millisecond))
			case <-time.After(10 * time.Second):
				t.Fatal("the claim was not sent again after its answer may have been lost")
			}
			if req := <-sent; req.First || req.ClaimID != "claim-1" {
				t.Fatalf("the repeat %+v: want the same claim id, not a first sending", req)
			}
		})
	}
}
