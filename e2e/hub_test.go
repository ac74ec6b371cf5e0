// Package e2e runs the real binaries as processes: the pilot supervisor with
// its whole tree, and the services against real PostgreSQL, Redis and NATS.
package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"github.com/exekra/hub/libs/testkit/freeport"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// binDir holds the binaries built once by TestMain.
var binDir string

func TestMain(m *testing.M) {
	if dir := os.Getenv("E2E_BIN_DIR"); dir != "" { // binaries built beforehand
		binDir = dir
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "exekra-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"github.com/exekra/hub/services/gateway/cmd/exekra-gateway",
		"github.com/exekra/hub/services/identity/cmd/exekra-identity",
		"github.com/exekra/hub/services/licensing/cmd/exekra-licensing",
		"github.com/exekra/hub/services/runners/cmd/exekra-runners",
		"github.com/exekra/hub/services/audit/cmd/exekra-audit",
		"github.com/exekra/hub/pilot/cmd/exekra-hub",
		"github.com/exekra/hub/exekractl/cmd/exekractl",
		"github.com/exekra/hub/agent/cmd/exekra-runner")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build binaries:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// hub is one install dir with its ports.
type hub struct {
	t       testing.TB
	home    string
	bin     string // the programs' dir (binDir unless a test runs another build)
	env     map[string]string
	gateway string
	cmd     *exec.Cmd
	out     *bytes.Buffer
	exited  chan struct{}
}

// newHub prepares an install dir whose every port is free. The home lives
// under /tmp with traversable parents, so the private PostgreSQL's
// unprivileged user can reach it.
func newHub(t testing.TB) *hub {
	t.Helper()
	home, err := os.MkdirTemp("", "exekra-e2e-home-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o755)
	t.Cleanup(func() { os.RemoveAll(home) })
	h := &hub{t: t, home: home, bin: binDir, env: map[string]string{}}
	for _, key := range []string{"GATEWAY_LISTEN", "GATEWAY_METRICS_LISTEN", "IDENTITY_METRICS_LISTEN",
		"LICENSING_METRICS_LISTEN", "RUNNERS_METRICS_LISTEN", "AUDIT_METRICS_LISTEN", "SUPERVISOR_METRICS_LISTEN",
		"NATS_LISTEN", "REDIS_LISTEN", "DATABASE_PRIVATE_LISTEN"} {
		h.env["EXEKRA_"+key] = freeport.Addr(t)
	}
	h.env["EXEKRA_DATABASE_CONNECT_TIMEOUT"] = "5s"
	h.env["EXEKRA_SUPERVISOR_STOP_TIMEOUT"] = "10s"
	h.env["EXEKRA_AUDIT_CHECKPOINT_INTERVAL"] = "1s"
	h.gateway = "https://" + h.env["EXEKRA_GATEWAY_LISTEN"]
	return h
}

func (h *hub) environ() []string {
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EXEKRA_") {
			env = append(env, kv)
		}
	}
	for k, v := range h.env {
		env = append(env, k+"="+v)
	}
	return env
}

// start runs exekra-hub and waits until /api/health is 200.
func (h *hub) start() {
	h.t.Helper()
	h.cmd = exec.Command(filepath.Join(h.bin, "exekra-hub"), "--home", h.home)
	h.cmd.Env = h.environ()
	h.out = &bytes.Buffer{}
	h.cmd.Stdout, h.cmd.Stderr = h.out, h.out
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.exited = make(chan struct{})
	go func() { h.cmd.Wait(); close(h.exited) }()
	h.t.Cleanup(h.kill)
	h.waitHealth(http.StatusOK, 90*time.Second, nil)
}

// kill makes sure nothing of this hub survives a failed test.
func (h *hub) kill() {
	if h.cmd != nil && h.cmd.Process != nil {
		h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.exited:
		case <-time.After(30 * time.Second):
			h.cmd.Process.Kill()
		}
	}
	for _, p := range processesOf(h.home) {
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	if h.t.Failed() {
		h.t.Logf("exekra-hub output:\n%s", h.out)
		logs, _ := filepath.Glob(filepath.Join(h.home, "logs", "service-*.log"))
		for _, l := range logs {
			data, _ := os.ReadFile(l)
			h.t.Logf("%s (tail):\n%s", filepath.Base(l), tail(string(data), 3000))
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var insecure = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
	TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, // the pilot's self-signed certificate
}}

// health returns the status code and body of /api/health.
func (h *hub) health() (int, map[string]any, error) {
	resp, err := insecure.Get(h.gateway + "/api/health")
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &body); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("health body %q: %w", data, err)
	}
	return resp.StatusCode, body, nil
}

// waitHealth polls until /api/health answers want and check (if any) accepts the body.
func (h *hub) waitHealth(want int, within time.Duration, check func(map[string]any) bool) map[string]any {
	h.t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for time.Now().Before(deadline) {
		code, body, err := h.health()
		if err == nil && code == want && (check == nil || check(body)) {
			return body
		}
		last = fmt.Sprintf("code=%d body=%v err=%v", code, body, err)
		select {
		case <-h.exited:
			h.t.Fatalf("exekra-hub exited while waiting for health %d; last: %s", want, last)
		case <-time.After(250 * time.Millisecond):
		}
	}
	h.t.Fatalf("health never answered %d within %s; last: %s", want, within, last)
	return nil
}

type proc struct {
	pid  int
	args []string
}

// processesOf lists live processes whose command line mentions mark.
func processesOf(mark string) []proc {
	entries, _ := os.ReadDir("/proc")
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(raw, []byte(mark)) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && isZombie(stat) {
			continue
		}
		out = append(out, proc{pid: pid, args: strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")})
	}
	return out
}

func isZombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// pidOf finds the process of a named binary of this hub. Redis renames
// its process ("redis-server 127.0.0.1:port"), so it is found by address.
func (h *hub) pidOf(binary string) int {
	mark := h.home
	if binary == "redis-server" {
		mark = h.env["EXEKRA_REDIS_LISTEN"]
	}
	for _, p := range processesOf(mark) {
		if base, _, _ := strings.Cut(filepath.Base(p.args[0]), " "); base == binary {
			return p.pid
		}
	}
	return 0
}

// killProcess sends SIGKILL to the hub's process of binary.
func (h *hub) killProcess(t testing.TB, binary string) {
	t.Helper()
	pid := h.pidOf(binary)
	if pid <= 0 { // kill(0) would hit the test's own process group
		t.Fatalf("no %s process of this hub", binary)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", binary, err)
	}
}

func allUp(body map[string]any) bool {
	svcs, _ := body["services"].(map[string]any)
	for _, s := range []string{"identity", "licensing", "runners", "audit"} {
		if svcs[s] != "up" {
			return false
		}
	}
	db, _ := body["database"].(map[string]any)
	return body["status"] == "ok" && db["status"] == "up" && body["nats"] == "up" && body["redis"] == "up"
}

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
