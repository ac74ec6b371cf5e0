package loadgen

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
)

// TestHeartbeatsGoThroughTheRunnerClient runs the heartbeat scenario
// against a stand-in gateway: every call is the protocol's, a refused one
// is counted as an error.
func TestHeartbeatsGoThroughTheRunnerClient(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	bad := []string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+runners.PathHeartbeat, func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		var hb runners.Heartbeat
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		err := dec.Decode(&hb)
		mu.Lock()
		defer mu.Unlock()
		if err != nil || hb.Version != buildinfo.Version || r.Header.Get(runners.HeaderProtocol) != runners.ProtocolVersion ||
			r.Header.Get("User-Agent") != userAgent {
			bad = append(bad, r.Header.Get("User-Agent"))
		}
		calls[id]++
		if secret != "right" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(runners.HeartbeatResponse{HeartbeatIntervalSeconds: 15, ServerTime: time.Now()})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	var sims []Runner
	for id, secret := range map[string]string{"a": "right", "b": "right", "c": "wrong"} {
		r, err := NewRunner(srv.URL, id, secret, srv.Client(), false)
		if err != nil {
			t.Fatal(err)
		}
		sims = append(sims, r)
	}
	res := Heartbeats(context.Background(), sims, 100*time.Millisecond, 550*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(bad) > 0 {
		t.Fatalf("requests off the protocol: %q", bad)
	}
	if res.Operation != "heartbeat" || res.Requests < 12 || res.Errors != calls["c"] || res.Requests != calls["a"]+calls["b"]+calls["c"] || res.P50 <= 0 {
		t.Fatalf("result %+v, calls %v", res, calls)
	}
}

func TestNewRunnerRefusesABadHub(t *testing.T) {
	if _, err := NewRunner("hub.example:8443", "r", "s", nil, false); err == nil {
		t.Fatal("a Hub address without a scheme was taken")
	}
}
