package prom

import (
	"github.com/exekra/hub/services/runners/internal/asset"
	"github.com/prometheus/client_golang/prometheus"
)

// Assets holds the assets metrics: exekra_runners_asset_reads_total{outcome}.
type Assets struct {
	reads *prometheus.CounterVec
}

var _ asset.Meter = (*Assets)(nil)

// NewAssets registers the assets metrics with reg.
func NewAssets(reg prometheus.Registerer) *Assets {
	m := &Assets{reads: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "exekra_runners_asset_reads_total",
		Help: "Runners' reads of their job's asset values by outcome: ok, denied (the runner does not hold the job), missing (a declared asset has no value for the runner), unavailable (the key file or the database).",
	}, []string{"outcome"})}
	reg.MustRegister(m.reads)
	for _, o := range []string{asset.ReadOK, asset.ReadDenied, asset.ReadMissing, asset.ReadUnavailable} {
		m.reads.WithLabelValues(o)
	}
	return m
}

// AssetRead counts a runner's read by outcome.
func (m *Assets) AssetRead(outcome string) { m.reads.WithLabelValues(outcome).Inc() }
