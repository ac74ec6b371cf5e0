package e2e

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// workload is what a Hub holds when it goes away (a backup before a loss,
// an upgrade): jobs finished, one running (slowLedgerScript) and some
// queued behind paused agents, all writing to one ledger, and the audit
// log's state just before.
type workload struct {
	ledger   string
	params   map[string]any // of the ledger jobs
	finished []string
	running  string
	queued   []string
	audit    map[string]any // GET /api/v1/audit/verify
}

// leaveWork publishes the ledger and slow packages (as dev), runs three
// ledger jobs to success on agents, starts the slow one, pauses the agents
// (SIGSTOP; the caller lets them go on) and queues four more.
func leaveWork(t *testing.T, h *hub, devTok, opTok, adminTok string, agents []*agent) *workload {
	t.Helper()
	for name, script := range map[string]string{"ledger": ledgerScript, "slow": slowLedgerScript} {
		if code, raw := publish(t, h, devTok, packageZip(t, name, "1.0.0", script)); code != http.StatusCreated {
			t.Fatalf("publish %s = %d %s", name, code, raw)
		}
	}
	waitFor(t, 30*time.Second, "the agents online", func() bool {
		for _, a := range agents {
			if runnerStatus(t, h, adminTok, a.id) != "online" {
				return false
			}
		}
		return true
	})
	w := &workload{ledger: filepath.Join(t.TempDir(), "ledger")}
	w.params = map[string]any{"parameters": map[string]string{"ledger": w.ledger}}
	for range 3 {
		w.finished = append(w.finished, startJob(t, h, opTok, "ledger", w.params))
	}
	for _, id := range w.finished {
		if j := waitJob(t, h, opTok, id, 60*time.Second); j["status"] != "succeeded" {
			t.Fatalf("job %s: %v", id, j)
		}
	}
	w.running = startJob(t, h, opTok, "slow", w.params)
	waitFor(t, 30*time.Second, "the slow job running", func() bool {
		return h.as(opTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+w.running, nil)["status"] == "running"
	})
	for _, a := range agents {
		a.cmd.Process.Signal(syscall.SIGSTOP) // the jobs below stay queued (or claimed, never taken up)
	}
	for range 4 {
		w.queued = append(w.queued, startJob(t, h, opTok, "ledger", w.params))
	}
	// The audit log fills asynchronously (each service's outbox, relayed):
	// the chain read below is of a log that holds at least the last job's
	// creation, so that there is a head to find again after the Hub goes.
	last := w.queued[len(w.queued)-1]
	waitFor(t, 30*time.Second, "the audit event of job "+last, func() bool {
		return len(auditEvents(t, h, adminTok, url.Values{"target": {last}})) > 0
	})
	if w.audit = h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/audit/verify", nil); w.audit["ok"] != true {
		t.Fatalf("audit verify: %v", w.audit)
	}
	return w
}

// checkQueuedRanOnce waits for the queued jobs to succeed and the running
// one to end (returned), then runs one more job: the ledger must hold
// exactly one run of each.
func (w *workload) checkQueuedRanOnce(t *testing.T, h *hub, opTok string) map[string]any {
	t.Helper()
	for _, id := range w.queued {
		if j := waitJob(t, h, opTok, id, 90*time.Second); j["status"] != "succeeded" {
			t.Fatalf("queued job %s: %v", id, j)
		}
	}
	running := waitJob(t, h, opTok, w.running, 90*time.Second)
	fresh := startJob(t, h, opTok, "ledger", w.params)
	if j := waitJob(t, h, opTok, fresh, 60*time.Second); j["status"] != "succeeded" {
		t.Fatalf("a new job: %v", j)
	}
	wantLedger(t, w.ledger, append(append([]string{w.running, fresh}, w.finished...), w.queued...))
	return running
}

// checkAuditKept holds that the audit chain verifies (by the API and by
// exekractl, trusting ca) and still holds, at its place, the head it had
// when the work was left.
func (w *workload) checkAuditKept(t *testing.T, h *hub, adminTok, ca string) {
	t.Helper()
	got := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/audit/verify", nil)
	if got["ok"] != true || got["checked"].(float64) < w.audit["checked"].(float64) {
		t.Fatalf("verify: %v (before: %v)", got, w.audit)
	}
	seq := int64(w.audit["checked"].(float64))
	page := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/audit?limit=1&cursor="+strconv.FormatInt(seq+1, 10), nil)
	items := page["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["hash"] != w.audit["head_hash"] {
		t.Fatalf("record %d: %v; before, the head was %v", seq, items, w.audit["head_hash"])
	}
	tokFile := filepath.Join(t.TempDir(), "admin.token")
	os.WriteFile(tokFile, []byte(adminTok), 0o600)
	if out := exekractl(t, "audit", "verify", "--hub", h.gateway, "--ca", ca, "--token-file", tokFile); !strings.Contains(out, "audit chain verified") {
		t.Fatalf("exekractl audit verify: %s", out)
	}
}
