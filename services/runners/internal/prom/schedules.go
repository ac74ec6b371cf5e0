package prom

import (
	"context"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/schedule"
	"github.com/prometheus/client_golang/prometheus"
)

// SchedulesInterval is how often the exekra_schedules gauge is recomputed.
const SchedulesInterval = 15 * time.Second

// ScheduleCounter counts schedules by state.
type ScheduleCounter interface {
	ScheduleCounts(ctx context.Context) (map[string]int, error)
}

// Schedules holds the schedules metrics: exekra_schedule_fires_total{outcome},
// exekra_schedule_fire_lag_seconds and exekra_schedules{state}.
type Schedules struct {
	fires  *prometheus.CounterVec
	lag    prometheus.Histogram
	states *prometheus.GaugeVec
}

var _ schedule.Meter = (*Schedules)(nil)

// NewSchedules registers the schedules metrics with reg.
func NewSchedules(reg prometheus.Registerer) *Schedules {
	m := &Schedules{
		fires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exekra_schedule_fires_total", Help: "Schedule fires by the outcome they reached (queued, then job_created, counts twice).",
		}, []string{"outcome"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "exekra_schedule_fire_lag_seconds",
			Help:    "Time from a scheduled fire time to the creation of its job.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60},
		}),
		states: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "exekra_schedules", Help: "Schedules by state (from PostgreSQL).",
		}, []string{"state"}),
	}
	reg.MustRegister(m.fires, m.lag, m.states)
	for _, o := range runners.FireOutcomes {
		if o != runners.FirePending {
			m.fires.WithLabelValues(o)
		}
	}
	for _, s := range runners.ScheduleStates {
		m.states.WithLabelValues(s)
	}
	return m
}

// Fire counts a fire that reached outcome.
func (m *Schedules) Fire(outcome string) { m.fires.WithLabelValues(outcome).Inc() }

// FireLag observes the time from a fire time to its job's creation.
func (m *Schedules) FireLag(d time.Duration) { m.lag.Observe(max(d.Seconds(), 0)) }

// UpdateStates sets the gauge from PostgreSQL.
func (m *Schedules) UpdateStates(ctx context.Context, c ScheduleCounter) error {
	counts, err := c.ScheduleCounts(ctx)
	if err != nil {
		return err
	}
	for _, s := range runners.ScheduleStates {
		m.states.WithLabelValues(s).Set(float64(counts[s]))
	}
	return nil
}

// RunStates updates the gauge now and every interval until ctx ends.
func (m *Schedules) RunStates(ctx context.Context, c ScheduleCounter, every time.Duration, log *slog.Logger) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		uctx, cancel := context.WithTimeout(ctx, every)
		if err := m.UpdateStates(uctx, c); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "count schedules for exekra_schedules", "err", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
