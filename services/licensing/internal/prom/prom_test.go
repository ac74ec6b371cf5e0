package prom_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/services/licensing/internal/prom"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE || len(mf.GetMetric()) != 1 {
			t.Fatalf("%s is not one gauge: %v", mf.GetName(), mf)
		}
		out[mf.GetName()] = mf.GetMetric()[0].GetGauge().GetValue()
	}
	return out
}

func TestExpiryIsATimestampGauge(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := prom.New(reg)
	expires := time.Date(2027, 6, 1, 12, 0, 0, 500e6, time.UTC)
	m.Expiry(expires, 42)
	got := gauges(t, reg)
	if got["exekra_license_expiry_timestamp_seconds"] != float64(expires.Unix())+0.5 || got["exekra_license_days_remaining"] != 42 {
		t.Fatalf("gathered %v", got)
	}
	m.Expiry(time.Time{}, 0)
	if got := gauges(t, reg); got["exekra_license_expiry_timestamp_seconds"] != 0 || got["exekra_license_days_remaining"] != 0 {
		t.Fatalf("without a license: %v", got)
	}
}
