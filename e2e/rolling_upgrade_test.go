//go:build release

package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRollingUpgrade starts the enterprise layout (two instances of every
// service behind the load balancer) on the previous release, with the
// previous release's agents, and upgrades it one instance at a time under a
// steady load of job starts and API calls, as docs/operations.md's rolling
// upgrade procedure says: first one instance of every service, the two
// versions then serving side by side on NATS under the load for a while (the
// older instances restarted once on the newer schema), then the other. No acknowledged job is lost or run twice, no audited
// action is missing, and no call fails beyond the retry every client makes
// when a gateway goes away.
func TestRollingUpgrade(t *testing.T) {
	began := time.Now()
	prev := previousRelease(t)
	v := newVendor(t)
	e := startEnterpriseFrom(t, v, prev.bin)
	t.Logf("the layout up on %s in %.1fs", prev.tag, time.Since(began).Seconds())
	s := setUp(t, e, v)
	if got, _ := hubVersion(t, s.h); got != prev.version {
		t.Fatalf("the layout says version %s, want %s", got, prev.version)
	}

	ld := &load{h: s.h, opTok: s.opTok, adminTok: s.adminTok, opEmail: s.opEmail, params: s.params, ledger: s.ledger}
	ld.start(2)
	defer func() {
		if !ld.stopped() {
			ld.halt()
		}
	}()
	ld.waitProgress(t, "the load started", 0, 30*time.Second)
	upgrade := func(in *instance) {
		t.Helper()
		t.Logf("%5.1fs: %s stopped, its programs replaced, started", time.Since(ld.began).Seconds(), in.name())
		in.stop(t, 60*time.Second)
		in.bin = binDir
		in.start()
		in.waitReady(t, 60*time.Second)
		ld.waitProgress(t, in.name()+" upgraded", 2*time.Second, 60*time.Second)
	}
	// Gateways last: a newer gateway may send what only newer services know.
	order := []string{"identity", "licensing", "audit", "runners", "gateway"}
	for _, svc := range order {
		upgrade(e.hubs[svc][0])
	}
	// An older instance that restarts now (a crash, a host reboot) starts on
	// the schema the newer one migrated: every migration since the previous
	// release only adds (libs/migrate's expand mark).
	for _, svc := range order[:4] {
		in := e.hubs[svc][1]
		in.stop(t, 60*time.Second)
		in.start()
		in.waitReady(t, 60*time.Second)
	}
	ld.waitProgress(t, "the older instances restarted on the newer schema, the two versions serving side by side", 10*time.Second, 60*time.Second)
	for _, svc := range order {
		upgrade(e.hubs[svc][1])
	}
	ld.halt()
	rolled := time.Since(ld.began)

	jobs, users, logins, calls := ld.snapshot()
	ld.mu.Lock()
	problems, retries, longest := ld.problems, ld.retries, ld.longest
	ld.mu.Unlock()
	t.Logf("load: %d jobs acknowledged, %d users created, %d sign-ins, %d API calls answered; %d attempts retried, longest call %.1fs",
		len(jobs), len(users), logins, calls, retries, longest.Seconds())
	if len(problems) > 0 {
		t.Errorf("%d answers the API does not allow during a rolling upgrade:\n%s", len(problems), strings.Join(problems[:min(len(problems), 20)], "\n"))
	}
	newVersion, _ := hubVersion(t, s.h)
	if newVersion == prev.version {
		t.Errorf("after the upgrade the layout still says version %s", newVersion)
	}
	jobs = append(slices.Clone(s.warm), jobs...)
	t.Run("every acknowledged job ran exactly once", func(t *testing.T) { checkJobsRanOnce(t, s, jobs) })
	t.Run("no acknowledged audited action is missing from the log", func(t *testing.T) {
		checkAuditComplete(t, s, jobs, append([]string{s.devID, s.opID}, users...), logins+1) // +1: setUp's sign-in
	})
	t.Run("the audit chain verifies across the versions", func(t *testing.T) {
		if got := s.h.as(s.adminTok).must(http.StatusOK, "GET", "/api/v1/audit/verify", nil); got["ok"] != true {
			t.Fatalf("audit verify: %v", got)
		}
	})
	t.Run("the previous release's agents stay connected", func(t *testing.T) {
		for _, id := range s.runnerIDs {
			r := s.h.as(s.adminTok).must(http.StatusOK, "GET", "/api/v1/runners/"+id, nil)
			if (r["status"] != "online" && r["status"] != "busy") || r["version"] != prev.version {
				t.Errorf("runner %s: status %v version %v, want online or busy, %s", id, r["status"], r["version"], prev.version)
			}
		}
	})
	t.Logf("%s → %s: 10 instances upgraded one at a time in %.1fs under load; test %.0fs", prev.version, newVersion, rolled.Seconds(), time.Since(began).Seconds())
}
