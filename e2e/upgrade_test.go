//go:build release

package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/daemon"
)

// TestUpgradeInPlace fills a pilot of the previous release (users, runners
// with the previous release's agents connected, packages, finished, running
// and queued jobs, audit events), upgrades it in place as docs/operations.md
// says (stop, replace the programs, start), and checks that nothing is lost:
// every user signs in, the agents carry on with their old secrets, queued
// jobs run exactly once, the running job finishes, the audit chain verifies
// across the upgrade and holds every record from before it.
func TestUpgradeInPlace(t *testing.T) {
	began := time.Now()
	prev := previousRelease(t)
	t.Logf("upgrading from %s (%s) to the programs in %s", prev.tag, prev.commit[:12], binDir)
	v := newVendor(t)
	old := newHub(t)
	old.bin = prev.bin
	h, adminTok := licensed(t, v, old)
	if got, _ := hubVersion(t, h); got != prev.version {
		t.Fatalf("the previous release's Hub says version %s, want %s", got, prev.version)
	}
	_, devTok := user(t, h, adminTok, "developer@acme.test", "DEVELOPER")
	_, opTok := user(t, h, adminTok, "operator@acme.test", "OPERATOR")
	// The agents' copy of the certificate: nothing of theirs names the Hub's dir.
	ca := filepath.Join(t.TempDir(), "hub.crt")
	if cert, err := os.ReadFile(filepath.Join(h.home, "config", "certs", "hub.crt")); err != nil || os.WriteFile(ca, cert, 0o644) != nil {
		t.Fatalf("copy the Hub's certificate: %v", err)
	}
	var agents []*agent
	for i := range 2 {
		id, secret := registerRunner(t, h, adminTok, "upgrade-runner-"+strconv.Itoa(i))
		agents = append(agents, startAgentFrom(t, prev.bin, h.gateway, ca, id, secret))
	}
	w := leaveWork(t, h, devTok, opTok, adminTok, agents)

	// The upgrade: stop, replace the programs, start.
	stopped := time.Now()
	h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-h.exited:
	case <-time.After(60 * time.Second):
		t.Fatal("the previous release's Hub did not stop within 60 s of SIGTERM")
	}
	if left := processesOf(h.home); len(left) > 0 {
		t.Fatalf("processes left after the Hub stopped: %v", left)
	}
	for _, a := range agents {
		a.cmd.Process.Signal(syscall.SIGCONT) // they ride out the Hub's absence, backing off
	}
	h.bin = binDir
	h.start()
	h.waitHealth(http.StatusOK, 60*time.Second, allUp)
	downtime := time.Since(stopped)
	newVersion, _ := hubVersion(t, h)
	if newVersion == prev.version {
		t.Fatalf("after the upgrade the Hub still says version %s", newVersion)
	}

	t.Run("every user signs in with the password set before the upgrade", func(t *testing.T) {
		adminTok = login(t, h, strings.ToLower(adminEmail), goodPassword)
		devTok = login(t, h, "developer@acme.test", goodPassword)
		opTok = login(t, h, "operator@acme.test", goodPassword)
		if me := h.as(devTok).must(http.StatusOK, "GET", "/api/v1/auth/me", nil); me["role"] != "DEVELOPER" {
			t.Errorf("the developer after the upgrade: %v", me)
		}
	})
	t.Run("the agents carry on with their old secrets and show their version", func(t *testing.T) {
		waitFor(t, 90*time.Second, "both agents heartbeating to the upgraded Hub", func() bool {
			for _, a := range agents {
				r := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+a.id, nil)
				seen, _ := r["last_seen_at"].(string) // none until the first heartbeat: presence lived in Redis
				at, _ := time.Parse(time.RFC3339Nano, seen)
				if r["status"] != "online" || !at.After(stopped) {
					return false
				}
			}
			return true
		})
		for _, a := range agents {
			if r := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+a.id, nil); r["version"] != prev.version {
				t.Errorf("runner %s shows version %v; its agent is %s", a.id, r["version"], prev.version)
			}
		}
	})
	t.Run("queued jobs run exactly once, the running job finishes", func(t *testing.T) {
		if j := w.checkQueuedRanOnce(t, h, opTok); j["status"] != "succeeded" {
			t.Errorf("the job running during the upgrade ended %v", j)
		}
	})
	t.Run("the audit chain verifies across the upgrade", func(t *testing.T) { w.checkAuditKept(t, h, adminTok, ca) })
	t.Run("every service's schema holds the migrations of the new version", func(t *testing.T) {
		db := h.pilotDB(t)
		for _, schema := range []string{"identity", "licensing", "runners", "audit"} {
			var n int
			if err := db.QueryRow(context.Background(), "SELECT count(*) FROM "+schema+".schema_migrations").Scan(&n); err != nil || n == 0 {
				t.Errorf("%s.schema_migrations: %d rows (%v)", schema, n, err)
			}
		}
	})
	t.Run("a Hub on a schema a newer release contracted refuses to start, in one line", func(t *testing.T) {
		db := h.pilotDB(t)
		if _, err := db.Exec(context.Background(), "INSERT INTO runners.schema_migrations (version, name) VALUES (999, '0999_from_a_newer_release.sql')"); err != nil {
			t.Fatal(err)
		}
		db.Close(context.Background())
		h.cmd.Process.Signal(syscall.SIGTERM)
		<-h.exited
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir, "exekra-hub"), "--home", h.home)
		cmd.Env = h.environ()
		out, err := cmd.CombinedOutput()
		want := "schema runners has migration 999, which this program does not know"
		if err == nil || ctx.Err() != nil || !strings.Contains(string(out), want) {
			t.Fatalf("exekra-hub on the contracted schema: %v (%v), want it to exit saying %q:\n%s", err, ctx.Err(), want, tail(string(out), 3000))
		}
		if code := cmd.ProcessState.ExitCode(); code != daemon.ExitRefused {
			t.Errorf("exekra-hub exited %d, want %d (a refusal: the service manager does not restart it)", code, daemon.ExitRefused)
		}
		if strings.Contains(string(out), "Exekra Hub is running") {
			t.Errorf("exekra-hub announced itself running before refusing:\n%s", out)
		}
		if left := processesOf(h.home); len(left) > 0 {
			t.Errorf("processes left after the refusal: %v", left)
		}
		t.Logf("exekra-hub refused: %s", lineWith(string(out), want))
	})
	t.Logf("%s → %s: the Hub down %.1fs (stop, start, healthy); test %.0fs", prev.version, newVersion, downtime.Seconds(), time.Since(began).Seconds())
}

// lineWith is the first line of out holding s.
func lineWith(out, s string) string {
	for line := range strings.Lines(out) {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
