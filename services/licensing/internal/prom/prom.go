// Package prom exposes the licensing service's Prometheus metrics:
// exekra_license_expiry_timestamp_seconds and, for one release,
// exekra_license_days_remaining.
package prom

import (
	"time"

	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/prometheus/client_golang/prometheus"
)

// Meter holds the service's own metrics.
type Meter struct {
	expiry prometheus.Gauge
	days   prometheus.Gauge // deprecated: removed in the release after the one that added expiry
}

var _ license.Meter = (*Meter)(nil)

// New registers the metrics with reg.
func New(reg prometheus.Registerer) *Meter {
	m := &Meter{
		// A timestamp in base units, as exekra_tls_certificate_expiry_timestamp_seconds:
		// rules compute what is left with time(), and the value only changes
		// with the license.
		expiry: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "exekra_license_expiry_timestamp_seconds",
			Help: "Expiry (expires_at) of the active license, in seconds since the Unix epoch; 0 while no license is active. " +
				"Seconds left: exekra_license_expiry_timestamp_seconds - time().",
		}),
		// Kept so that rules written against it do not go silent on upgrade;
		// promtool flags it (days are no base unit).
		days: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "exekra_license_days_remaining",
			Help: "Deprecated, removed in the next release: use exekra_license_expiry_timestamp_seconds. " +
				"Whole days until the active license expires, rounded up; 0 once expired or while no license is active.",
		}),
	}
	reg.MustRegister(m.expiry, m.days)
	return m
}

// Expiry sets the gauges; the zero time (no license) is 0.
func (m *Meter) Expiry(expiresAt time.Time, daysLeft int) {
	var unix float64
	if !expiresAt.IsZero() {
		unix = float64(expiresAt.UnixMilli()) / 1000
	}
	m.expiry.Set(unix)
	m.days.Set(float64(daysLeft))
}
