package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPilot runs the all-in-one Hub as a newcomer does (private PostgreSQL,
// bundled Redis, embedded NATS), kills a service and sees it come back, then
// stops the tree and checks nothing is left.
func TestPilot(t *testing.T) {
	h := newHub(t)
	start := time.Now()
	h.start()
	t.Logf("pilot healthy %.1f s after exekra-hub started", time.Since(start).Seconds())
	body := h.waitHealth(http.StatusOK, 30*time.Second, allUp)
	if body["version"] == "" || body["uptime_seconds"] == nil {
		t.Fatalf("health lacks version or uptime: %v", body)
	}

	t.Run("first start wrote a commented config and the certificate", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(h.home, "config", "hub-config.json"))
		if err != nil || !strings.Contains(string(data), "//") {
			t.Fatalf("config/hub-config.json = %q, %v", data, err)
		}
		for _, f := range []string{"config/certs/hub.crt", "config/certs/hub.key"} {
			if _, err := os.Stat(filepath.Join(h.home, f)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	})

	t.Run("every service logs to its own files", func(t *testing.T) {
		for _, s := range []string{"gateway", "identity", "licensing", "runners", "audit"} {
			if info, err := os.Stat(filepath.Join(h.home, "logs", "hub-"+s+".log")); err != nil || info.Size() == 0 {
				t.Errorf("logs/hub-%s.log missing or empty (%v)", s, err)
			}
			// Children write JSON to their own file only; this one keeps what they print (crashes).
			if _, err := os.Stat(filepath.Join(h.home, "logs", "service-"+s+".log")); err != nil {
				t.Errorf("logs/service-%s.log: %v", s, err)
			}
		}
		// The bundled Redis keeps its output beside its data, under runtime/redis.
		if data, err := os.ReadFile(filepath.Join(h.home, "runtime", "redis", "redis.log")); err != nil || !strings.Contains(string(data), "Ready to accept connections") {
			t.Errorf("runtime/redis/redis.log lacks redis-server's start (%v):\n%s", err, data)
		}
		if _, err := os.Stat(filepath.Join(h.home, "logs", "service-redis.log")); err == nil {
			t.Error("logs/service-redis.log exists: the bundled Redis logs to runtime/redis/redis.log")
		}
	})

	t.Run("only the gateway listens beyond loopback", func(t *testing.T) {
		for key, addr := range h.env {
			if strings.HasSuffix(key, "_LISTEN") && !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Errorf("%s=%s is not loopback", key, addr)
			}
		}
	})

	t.Run("a killed service is restarted by the supervisor", func(t *testing.T) {
		old := h.pidOf("exekra-identity")
		if old == 0 {
			t.Fatal("exekra-identity is not running")
		}
		if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		h.waitHealth(http.StatusServiceUnavailable, 10*time.Second, func(b map[string]any) bool {
			return b["services"].(map[string]any)["identity"] == "down"
		})
		h.waitHealth(http.StatusOK, 30*time.Second, allUp)
		if now := h.pidOf("exekra-identity"); now == 0 || now == old {
			t.Fatalf("identity pid before %d, after %d", old, now)
		}
	})

	t.Run("SIGTERM stops the whole tree", func(t *testing.T) {
		if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-h.exited:
		case <-time.After(60 * time.Second):
			t.Fatal("exekra-hub did not exit within 60 s of SIGTERM")
		}
		if code := h.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit code %d, want 0", code)
		}
		if left := processesOf(h.home); len(left) > 0 {
			t.Fatalf("processes left running: %v", left)
		}
	})
}
