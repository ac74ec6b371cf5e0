// Package prom exposes the runners service's Prometheus metrics:
// exekra_runners{environment,status} and
// exekra_runner_auth_failures_total{reason}.
package prom

import (
	"context"
	"log/slog"
	"time"

	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/prometheus/client_golang/prometheus"
)

// CensusInterval is how often the exekra_runners gauge is recomputed.
const CensusInterval = 15 * time.Second

// Census counts runners by environment and status.
type Census interface {
	Census(ctx context.Context) (map[[2]string]int, error)
}

// Meter holds the service's own metrics.
type Meter struct {
	runners  *prometheus.GaugeVec
	failures *prometheus.CounterVec
}

var _ runner.Meter = (*Meter)(nil)

// New registers the metrics with reg.
func New(reg prometheus.Registerer) *Meter {
	m := &Meter{
		runners: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "exekra_runners", Help: "Registered runners by environment and derived status.",
		}, []string{"environment", "status"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_runner_auth_failures_total",
			Help: "Refused runner authentications by reason (throttled: refused unchecked, the address had too many failures).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.runners, m.failures)
	for _, r := range []string{runner.ReasonMalformed, runner.ReasonUnknown, runner.ReasonDeleted, runner.ReasonWrong, runner.ReasonThrottled} {
		m.failures.WithLabelValues(r)
	}
	return m
}

// AuthFailed counts a refused authentication.
func (m *Meter) AuthFailed(reason string) { m.failures.WithLabelValues(reason).Inc() }

// Update sets the gauge from one census.
func (m *Meter) Update(ctx context.Context, c Census) error {
	counts, err := c.Census(ctx)
	if err != nil {
		return err
	}
	for k, n := range counts {
		m.runners.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	return nil
}

// RunCensus updates the gauge now and every interval until ctx ends.
func (m *Meter) RunCensus(ctx context.Context, c Census, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		uctx, cancel := context.WithTimeout(ctx, every)
		if err := m.Update(uctx, c); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "count runners for exekra_runners", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
