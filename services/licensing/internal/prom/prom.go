// Package prom exposes the licensing service's Prometheus metrics:
// exekra_license_days_remaining.
package prom

import (
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/prometheus/client_golang/prometheus"
)

// Meter holds the service's own metrics.
type Meter struct {
	days prometheus.Gauge
}

var _ license.Meter = (*Meter)(nil)

// New registers the metrics with reg.
func New(reg prometheus.Registerer) *Meter {
	m := &Meter{days: prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "exekra_license_days_remaining",
		Help: "Whole days until the active license expires (expires_at, by the service's rollback-safe clock), rounded up; " +
			"0 once expired or while no license is active.",
	})}
	reg.MustRegister(m.days)
	return m
}

// DaysRemaining sets the gauge.
func (m *Meter) DaysRemaining(days int) { m.days.Set(float64(days)) }
