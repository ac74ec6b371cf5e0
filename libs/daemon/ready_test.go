package daemon_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
)

// readyz polls the metrics port's /readyz until it answers want, and returns the report.
func readyz(t *testing.T, addr string, want int, r *running) metrics.ReadyReport {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			var rep metrics.ReadyReport
			derr := json.NewDecoder(resp.Body).Decode(&rep)
			resp.Body.Close()
			if resp.StatusCode == want && derr == nil {
				return rep
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-r.done:
			t.Fatalf("Run returned while waiting for /readyz %d: %v", want, r.err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not answer %d within 15s; last %s", want, last)
		}
	}
}

func TestReadyzFollowsTheCriticalDependencies(t *testing.T) {
	addr := freeAddr(t)
	bus := natstest.Server(t)
	r := run(t, identitySpec(t), []string{
		"EXEKRA_DATABASE_URL=" + pgtest.New(t),
		"EXEKRA_NATS_URL=" + bus.ClientURL(),
		"EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_IDENTITY_METRICS_LISTEN=" + addr,
		"EXEKRA_DATABASE_CONNECT_TIMEOUT=5s",
	})

	rep := readyz(t, addr, http.StatusOK, r)
	want := map[string]string{"database": "up", "nats": "up", "redis": "up"}
	if rep.Status != "ready" || len(rep.Checks) != len(want) {
		t.Fatalf("ready report = %+v, want checks %v", rep, want)
	}
	for k, v := range want {
		if rep.Checks[k] != v {
			t.Errorf("checks[%s] = %q, want %q", k, rep.Checks[k], v)
		}
	}

	t.Run("NATS gone makes the service not ready, naming it", func(t *testing.T) {
		bus.Shutdown()
		bus.WaitForShutdown()
		rep := readyz(t, addr, http.StatusServiceUnavailable, r)
		if rep.Status != "not_ready" || !slices.Equal(rep.Down, []string{"nats"}) || rep.Checks["database"] != "up" {
			t.Fatalf("report with NATS down = %+v", rep)
		}
	})
	t.Run("the process still lives", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/livez")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("/livez = %s", resp.Status)
		}
	})
}
