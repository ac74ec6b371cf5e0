package natsapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRunnersGauge(t *testing.T) {
	h := newHarness(t)
	a := h.register(t, "a", runners.EnvProduction)
	b := h.register(t, "b", runners.EnvProduction)
	h.register(t, "c", runners.EnvStaging)
	d := h.register(t, "d", runners.EnvDevelopment)
	hb := heartbeat()
	must[runners.HeartbeatResponse](t)(h.beat(gateway(sourceIP), d.Runner.ID, d.MachineSecret, hb))
	h.clock.Advance(time.Hour)
	must[runners.HeartbeatResponse](t)(h.beat(gateway(sourceIP), a.Runner.ID, a.MachineSecret, hb))
	hb.RunningJobIDs = []string{"job-1"}
	must[runners.HeartbeatResponse](t)(h.beat(gateway(sourceIP), b.Runner.ID, b.MachineSecret, hb))

	reg := prometheus.NewRegistry()
	m := prom.New(reg)
	if err := m.Update(t.Context(), h.svc); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	want.WriteString("# HELP exekra_runners Registered runners by environment and derived status.\n# TYPE exekra_runners gauge\n")
	counts := map[string]int{"Production/online": 1, "Production/busy": 1, "Staging/never_connected": 1, "Development/offline": 1}
	for _, env := range runners.Environments {
		for _, st := range runners.Statuses {
			n := counts[env+"/"+st]
			want.WriteString("exekra_runners{environment=\"" + env + "\",status=\"" + st + "\"} " + string(rune('0'+n)) + "\n")
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String()), "exekra_runners"); err != nil {
		t.Fatal(err)
	}
}
