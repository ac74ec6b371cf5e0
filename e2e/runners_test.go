package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/exekra/hub/libs/testkit/freeport"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// agent is one exekra-runner process.
type agent struct {
	id, secret string
	cmd        *exec.Cmd
	out        *syncBuffer
	exited     chan struct{}
}

func registerRunner(t *testing.T, h *hub, adminTok, name string) (string, string) {
	t.Helper()
	reg := h.as(adminTok).must(http.StatusCreated, "POST", "/api/v1/runners",
		map[string]any{"name": name, "environment": "Development", "labels": []string{"e2e"}})
	r := reg["runner"].(map[string]any)
	secret, _ := reg["machine_secret"].(string)
	if r["status"] != "never_connected" || len(secret) < 40 {
		t.Fatalf("registered %v", reg)
	}
	return r["id"].(string), secret
}

func startAgent(t *testing.T, h *hub, id, secret string, flags ...string) *agent {
	t.Helper()
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte(secret+"\n"), 0o600)
	a := &agent{id: id, secret: secret, out: &syncBuffer{}, exited: make(chan struct{})}
	args := append([]string{"--hub", h.gateway, "--id", id, "--secret-file", secretFile, "--work-dir", dir,
		"--ca", filepath.Join(h.home, "config", "certs", "hub.crt")}, flags...)
	a.cmd = exec.Command(filepath.Join(binDir, "exekra-runner"), args...)
	a.cmd.Stdout, a.cmd.Stderr = a.out, a.out
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.cmd.Process.Kill()
		<-a.exited
		if t.Failed() {
			t.Logf("agent %s output:\n%s", id, tail(a.out.String(), 2000))
		}
	})
	return a
}

func runnerStatus(t *testing.T, h *hub, tok, id string) string {
	t.Helper()
	r := h.as(tok).must(http.StatusOK, "GET", "/api/v1/runners/"+id, nil)
	s, _ := r["status"].(string)
	return s
}

// heartbeatAs sends one heartbeat with HTTP Basic straight to a gateway.
func heartbeatAs(t *testing.T, gateway, id, secret string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"version": "e2e", "os": "linux", "hostname": "e2e",
		"metrics": map[string]any{"cpu_percent": 1, "memory_percent": 2, "disk_free_bytes": 3}, "running_job_ids": []string{}})
	req, _ := http.NewRequest("POST", gateway+"/api/v1/runner/heartbeat", bytes.NewReader(body))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := insecure.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestRunners registers three runners, runs three agents, survives a gateway
// crash, and revokes two agents by secret rotation and by deletion.
func TestRunners(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	var agents []*agent
	for i := range 3 {
		id, secret := registerRunner(t, h, adminTok, fmt.Sprintf("runner-%d", i))
		agents = append(agents, startAgent(t, h, id, secret))
	}
	allOnline := func() bool {
		for _, a := range agents {
			if s := runnerStatus(t, h, adminTok, a.id); s != "online" {
				return false
			}
		}
		return true
	}
	waitFor(t, 30*time.Second, "three agents online", allOnline)

	t.Run("each runner shows its agent's version and commit", func(t *testing.T) {
		version, commit := hubVersion(t, h)
		for _, a := range agents {
			r := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+a.id, nil)
			if r["version"] != version || r["commit"] != commit {
				t.Errorf("runner %s shows version %v commit %v; the agent is %s, commit %s", a.id, r["version"], r["commit"], version, commit)
			}
		}
	})

	t.Run("agents reconnect by themselves after the gateway dies", func(t *testing.T) {
		h.killProcess(t, "exekra-gateway")
		start := time.Now()
		h.waitHealth(http.StatusOK, 30*time.Second, allUp)
		seen := map[string]time.Time{}
		for _, a := range agents {
			r := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+a.id, nil)
			seen[a.id], _ = time.Parse(time.RFC3339Nano, r["last_seen_at"].(string))
		}
		waitFor(t, 70*time.Second, "every agent heartbeating again", func() bool {
			for _, a := range agents {
				r := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+a.id, nil)
				at, _ := time.Parse(time.RFC3339Nano, r["last_seen_at"].(string))
				if !at.After(seen[a.id]) {
					return false
				}
			}
			return true
		})
		t.Logf("all three agents back %.1fs after the gateway was killed", time.Since(start).Seconds())
	})

	t.Run("a rotated secret stops its agent with a clear message; the others carry on", func(t *testing.T) {
		sec := h.as(adminTok).must(http.StatusOK, "POST", "/api/v1/runners/"+agents[0].id+"/regenerate-secret", nil)
		if sec["machine_secret"] == agents[0].secret {
			t.Fatal("the secret did not change")
		}
		if code := heartbeatAs(t, h.gateway, agents[0].id, agents[0].secret); code != http.StatusUnauthorized {
			t.Fatalf("old secret right after rotation: %d", code)
		}
		if code := heartbeatAs(t, h.gateway, agents[0].id, sec["machine_secret"].(string)); code != http.StatusOK {
			t.Fatalf("new secret: %d", code)
		}
		expectStopped(t, agents[0])
	})

	t.Run("a deleted runner's agent stops too", func(t *testing.T) {
		h.as(adminTok).must(http.StatusNoContent, "DELETE", "/api/v1/runners/"+agents[1].id, nil)
		if code := heartbeatAs(t, h.gateway, agents[1].id, agents[1].secret); code != http.StatusUnauthorized {
			t.Fatalf("deleted runner's secret: %d", code)
		}
		expectStopped(t, agents[1])
		select {
		case <-agents[2].exited:
			t.Fatalf("the third agent stopped too:\n%s", agents[2].out.String())
		default:
		}
		if s := runnerStatus(t, h, adminTok, agents[2].id); s != "online" {
			t.Fatalf("third runner is %s", s)
		}
	})

	t.Run("a rotation through one gateway is in force on another at once", func(t *testing.T) {
		second := h.secondGateway(t)
		id, secret := registerRunner(t, h, adminTok, "two-gateways")
		if code := heartbeatAs(t, second, id, secret); code != http.StatusOK {
			t.Fatalf("heartbeat through the second gateway: %d", code)
		}
		for round := range 20 {
			fresh := h.as(adminTok).must(http.StatusOK, "POST", "/api/v1/runners/"+id+"/regenerate-secret", nil)
			if code := heartbeatAs(t, second, id, secret); code != http.StatusUnauthorized {
				t.Fatalf("round %d: the old secret on the other gateway right after rotation got %d", round, code)
			}
			secret = fresh["machine_secret"].(string)
			if code := heartbeatAs(t, second, id, secret); code != http.StatusOK {
				t.Fatalf("round %d: the new secret got %d", round, code)
			}
		}
	})

	t.Run("runner actions are audited", func(t *testing.T) {
		for _, action := range []string{"runner.register", "runner.secret_regenerate", "runner.delete", "runner.auth_failure"} {
			waitFor(t, 15*time.Second, action+" in the audit log", func() bool {
				return len(auditEvents(t, h, adminTok, map[string][]string{"action": {action}})) > 0
			})
		}
	})
}

func expectStopped(t *testing.T, a *agent) {
	t.Helper()
	select {
	case <-a.exited:
	case <-time.After(70 * time.Second):
		t.Fatalf("agent %s still running after its credentials were revoked", a.id)
	}
	if code := a.cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("agent exit code %d, want 3", code)
	}
	if out := a.out.String(); !bytes.Contains([]byte(out), []byte("rotated")) && !bytes.Contains([]byte(out), []byte("deleted")) {
		t.Errorf("agent did not say why it stopped:\n%s", tail(out, 1000))
	}
}

// secondGateway starts another gateway process on the pilot's bus and Redis,
// as a second instance behind a load balancer would run, and returns its URL.
func (h *hub) secondGateway(t *testing.T) string {
	t.Helper()
	listen := freeport.Addr(t)
	env := append(h.environ(), "EXEKRA_GATEWAY_LISTEN="+listen, "EXEKRA_GATEWAY_METRICS_LISTEN="+freeport.Addr(t),
		"EXEKRA_NATS_URL=nats://"+h.env["EXEKRA_NATS_LISTEN"], "EXEKRA_REDIS_URL=redis://"+h.env["EXEKRA_REDIS_LISTEN"]+"/0")
	p := startProcess(t, "exekra-gateway", h.home, env)
	url := "https://" + listen
	waitFor(t, 20*time.Second, "the second gateway", func() bool {
		resp, err := insecure.Get(url + "/api/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	_ = p
	return url
}
