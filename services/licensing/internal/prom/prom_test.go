package prom_test

import (
	"testing"

	"github.com/exekra/hub/services/licensing/internal/prom"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestDaysRemainingIsAGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := prom.New(reg)
	m.DaysRemaining(42)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) != 1 || mfs[0].GetName() != "exekra_license_days_remaining" || mfs[0].GetType() != dto.MetricType_GAUGE ||
		len(mfs[0].GetMetric()) != 1 || mfs[0].GetMetric()[0].GetGauge().GetValue() != 42 {
		t.Fatalf("gathered %v", mfs)
	}
}
