package supervisor

import (
	"github.com/exekra/hub/libs/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// hubMetrics are the supervisor's own metrics.
type hubMetrics struct {
	restarts *prometheus.CounterVec // exekra_supervisor_restarts_total{child}
	up       *prometheus.GaugeVec   // exekra_supervisor_child_up{child}
}

func newHubMetrics(reg *metrics.Registry) hubMetrics {
	m := hubMetrics{
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_supervisor_restarts_total", Help: "Restarts of a child process after it exited unexpectedly.",
		}, []string{"child"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "exekra_supervisor_child_up", Help: "1 while the child process runs, 0 otherwise.",
		}, []string{"child"}),
	}
	reg.MustRegister(m.restarts, m.up)
	return m
}

// childStats are one child's series.
type childStats struct {
	restarts prometheus.Counter
	up       prometheus.Gauge
}

func (m hubMetrics) child(name string) childStats {
	s := childStats{restarts: m.restarts.WithLabelValues(name), up: m.up.WithLabelValues(name)}
	s.up.Set(0)
	return s
}
