package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
)

// TestDependencyOutages runs the Hub against an external PostgreSQL and Redis
// reached through fault proxies, takes each away at run time and brings it back.
func TestDependencyOutages(t *testing.T) {
	pgURL, err := url.Parse(pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	redisURL, err := url.Parse(redistest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	pgProxy, redisProxy := newFaultProxy(t, pgURL.Host), newFaultProxy(t, redisURL.Host)
	pgURL.Host, redisURL.Host = pgProxy.Addr(), redisProxy.Addr()

	h := newHub(t)
	h.env["EXEKRA_DATABASE_URL"] = pgURL.String()
	h.env["EXEKRA_REDIS_URL"] = redisURL.String()
	h.start()
	h.waitHealth(http.StatusOK, 30*time.Second, allUp)
	pids := map[string]int{}
	for _, b := range []string{"exekra-gateway", "exekra-identity", "exekra-licensing", "exekra-runners", "exekra-audit"} {
		pids[b] = h.pidOf(b)
	}

	outages := []struct {
		name  string
		proxy *faultProxy
		part  func(map[string]any) any
	}{
		{"PostgreSQL going away", pgProxy, func(b map[string]any) any { return b["database"].(map[string]any)["status"] }},
		{"Redis going away", redisProxy, func(b map[string]any) any { return b["redis"] }},
	}
	for _, o := range outages {
		t.Run(o.name+" is reported as down and recovered from", func(t *testing.T) {
			o.proxy.Cut()
			body := h.waitHealth(http.StatusServiceUnavailable, 20*time.Second, func(b map[string]any) bool {
				return o.part(b) == "down"
			})
			if body["status"] != "degraded" {
				t.Errorf("status = %v, want degraded", body["status"])
			}
			o.proxy.Restore()
			h.waitHealth(http.StatusOK, 30*time.Second, allUp)
			for b, pid := range pids {
				if now := h.pidOf(b); now != pid {
					t.Errorf("%s restarted during the outage (pid %d -> %d); it should ride it out", b, pid, now)
				}
			}
		})
	}

	t.Run("the console status page shows the health in a browser", func(t *testing.T) {
		checkConsoleInBrowser(t, h.gateway)
	})
}
