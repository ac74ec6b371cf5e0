package prom

import (
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/prometheus/client_golang/prometheus"
)

// Jobs holds the jobs metrics: exekra_jobs_total{status} and
// exekra_queue_depth{environment}.
type Jobs struct {
	total *prometheus.CounterVec
	depth *prometheus.GaugeVec
}

var _ job.Meter = (*Jobs)(nil)

// NewJobs registers the jobs metrics with reg.
func NewJobs(reg prometheus.Registerer) *Jobs {
	m := &Jobs{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_jobs_total", Help: "Jobs that entered each status (pending again after a lost runner counts again).",
		}, []string{"status"}),
		depth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "exekra_queue_depth", Help: "Pending jobs by environment (from PostgreSQL).",
		}, []string{"environment"}),
	}
	reg.MustRegister(m.total, m.depth)
	for _, s := range runners.JobStatuses {
		m.total.WithLabelValues(s)
	}
	for _, env := range runners.Environments {
		m.depth.WithLabelValues(env)
	}
	return m
}

// JobStatus counts a job entering status.
func (m *Jobs) JobStatus(status string) { m.total.WithLabelValues(status).Inc() }

// QueueDepth sets an environment's pending jobs.
func (m *Jobs) QueueDepth(environment string, n int) {
	m.depth.WithLabelValues(environment).Set(float64(n))
}
