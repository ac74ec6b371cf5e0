package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/runnerclient"
)

func TestHeartbeatRequest(t *testing.T) {
	hub := newFakeHub(t, ok(30))
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(t, 1); err != nil {
		t.Fatal(err)
	}
	reqs := hub.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	t.Run("it posts to the heartbeat route with Basic credentials", func(t *testing.T) {
		if r.method != http.MethodPost || r.path != runners.PathHeartbeat || !r.basic || r.user != testID || r.pass != testSecret {
			t.Fatalf("%s %s basic=%v user=%q", r.method, r.path, r.basic, r.user)
		}
	})
	t.Run("it says its protocol and version", func(t *testing.T) {
		if r.header.Get("Exekra-Protocol") != "1" || !strings.HasPrefix(r.header.Get("User-Agent"), "exekra-runner/") ||
			r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", r.header)
		}
	})
	t.Run("the body has exactly the protocol's fields", func(t *testing.T) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, []string{"commit", "hostname", "metrics", "os", "running_job_ids", "version"}) || string(m["running_job_ids"]) != "[]" {
			t.Fatalf("body %s", r.body)
		}
		var hb runners.Heartbeat
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hb); err != nil || hb.OS == "" || hb.Version == "" || !strings.Contains(string(m["metrics"]), `"disk_free_bytes"`) {
			t.Fatalf("body %s: %v", r.body, err)
		}
	})
	t.Run("the next heartbeat comes at the Hub's interval, jittered", func(t *testing.T) {
		if len(h.waits) != 1 || h.waits[0] != 30*time.Second { // random 0.5: the middle of ±10 %
			t.Fatalf("waits %v", h.waits)
		}
	})
}

func TestRetryAfterHonoured(t *testing.T) {
	answers := []func(int, http.ResponseWriter){
		apiError(429, "rate_limited", "Retry-After", "7"),
		apiError(503, "unavailable", "Retry-After", "2"),
		apiError(503, "unavailable"),
		ok(15),
	}
	hub := newFakeHub(t, func(n int, w http.ResponseWriter) { answers[min(n, len(answers)-1)](n, w) })
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(t, 4); err != nil {
		t.Fatal(err)
	}
	// 429 Retry-After 7 -> 7s plus up to 10 % (0.5 of it); 503 Retry-After 2 -> 2.1s;
	// 503 without it -> the third failure's backoff, 0.5 of 4s; then the interval.
	want := []time.Duration{7350 * time.Millisecond, 2100 * time.Millisecond, 2 * time.Second, 15 * time.Second}
	if !slices.Equal(h.waits, want) {
		t.Fatalf("waits %v, want %v", h.waits, want)
	}
}

func TestBackoffOnServerErrors(t *testing.T) {
	hub := newFakeHub(t, apiError(500, "internal"))
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(t, 9); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	if !slices.Equal(h.waits, want) {
		t.Fatalf("waits %v, want %v", h.waits, want)
	}
}

func TestCredentialsRefused(t *testing.T) {
	hub := newFakeHub(t, apiError(401, "invalid_credentials"))
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	err = h.run(t, 100)
	t.Run("the agent stops without retrying", func(t *testing.T) {
		if !errors.Is(err, ErrCredentialsRefused) || len(hub.requests()) != 1 || len(h.waits) != 0 {
			t.Fatalf("err %v, %d requests, waits %v", err, len(hub.requests()), h.waits)
		}
	})
	t.Run("it says clearly why, and exits 3", func(t *testing.T) {
		logs := string(h.logs.Bytes())
		if !strings.Contains(logs, "regenerated") || !strings.Contains(logs, "deleted") || !strings.Contains(logs, `"level":"ERROR"`) {
			t.Fatalf("logs %s", logs)
		}
		if exitCode(err) != ExitCredentials {
			t.Fatalf("exit code %d", exitCode(err))
		}
	})
}

func TestUpgradeRequired(t *testing.T) {
	const why = "agent 1.1.0 is more than 2 minor versions older than the Hub 1.4.0; upgrade the agent to 1.4.x"
	refuse := func(_ int, w http.ResponseWriter) {
		w.WriteHeader(http.StatusUpgradeRequired)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "upgrade_required", "message": why}})
	}
	answers := []func(int, http.ResponseWriter){refuse, ok(15)}
	hub := newFakeHub(t, func(n int, w http.ResponseWriter) { answers[min(n, len(answers)-1)](n, w) })
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.run(t, 2); err != nil {
		t.Fatalf("the agent stopped: %v", err)
	}
	t.Run("it keeps running and asks again slowly", func(t *testing.T) {
		if len(hub.requests()) != 2 || len(h.waits) != 2 || h.waits[0] != runnerclient.UpgradeRetry {
			t.Fatalf("%d requests, waits %v", len(hub.requests()), h.waits)
		}
	})
	t.Run("it logs the Hub's reason plainly as an error", func(t *testing.T) {
		logs := string(h.logs.Bytes())
		if !strings.Contains(logs, "refuses this agent's version") || !strings.Contains(logs, "upgrade the agent to 1.4.x") ||
			!strings.Contains(logs, `"level":"ERROR"`) {
			t.Fatalf("logs %s", logs)
		}
	})
}

func TestCertificateTrust(t *testing.T) {
	hub := newFakeHub(t, ok(15))
	t.Run("a self-signed Hub without --ca or --fingerprint is refused with a hint", func(t *testing.T) {
		h, err := newAgent(t, Config{Hub: hub.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		err = h.run(t, 100)
		if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "--fingerprint") || len(hub.requests()) != 0 {
			t.Fatalf("err %v, %d requests", err, len(hub.requests()))
		}
	})
	t.Run("a wrong pinned fingerprint is refused", func(t *testing.T) {
		h, _ := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: strings.Repeat("ab", 32)})
		if err := h.run(t, 100); exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "does not match") {
			t.Fatal(err)
		}
	})
	t.Run("the Hub's certificate as a CA file is trusted", func(t *testing.T) {
		h, _ := newAgent(t, Config{Hub: hub.srv.URL, CAFile: caFile(t, hub.srv)})
		if err := h.run(t, 1); err != nil || len(hub.requests()) != 1 {
			t.Fatalf("%v, %d requests", err, len(hub.requests()))
		}
	})
}

func TestReconnectsAfterHubRestart(t *testing.T) {
	hub := newFakeHub(t, ok(15))
	addr := hub.srv.Listener.Addr().String()
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	var back *fakeHub
	h.onWait = func(n int) {
		switch n {
		case 1: // the Hub goes away after the first heartbeat
			hub.srv.Close()
		case 4: // and comes back on the same address
			back = &fakeHub{respond: ok(20)}
			back.srv = listenOn(t, addr, back)
		}
	}
	if err := h.run(t, 5); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{15 * time.Second, 500 * time.Millisecond, time.Second, 2 * time.Second, 20 * time.Second}
	if !slices.Equal(h.waits, want) || len(back.requests()) != 1 {
		t.Fatalf("waits %v, want %v", h.waits, want)
	}
	if logs := string(h.logs.Bytes()); strings.Count(logs, "connected to the Hub") != 2 || !strings.Contains(logs, "heartbeat failed") {
		t.Fatalf("logs %s", logs)
	}
}

func TestGracefulStop(t *testing.T) {
	hub := newFakeHub(t, ok(15))
	h, err := newAgent(t, Config{Hub: hub.srv.URL, Fingerprint: fingerprint(hub.srv)})
	if err != nil {
		t.Fatal(err)
	}
	h.agent.sleep = runnerclient.Sleep // real waiting: the stop has to interrupt it
	done := make(chan error, 1)
	ctx, cancel := contextWithCancel()
	go func() { done <- h.agent.Run(ctx) }()
	for len(hub.requests()) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil || exitCode(err) != ExitOK {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !strings.Contains(string(h.logs.Bytes()), `"msg":"stopped"`) {
		t.Fatal("no stop logged")
	}
}
