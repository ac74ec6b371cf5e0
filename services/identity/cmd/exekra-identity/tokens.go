package main

import (
	"time"

	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/identity/internal/apitoken"
	"github.com/exekra/hub/services/identity/internal/natsapi"
	"github.com/exekra/hub/services/identity/internal/postgres"
	"github.com/prometheus/client_golang/prometheus"
)

// apiTokens wires the API token domain: the store, the lifetime bound from
// the settings, revocations announced to the gateways and the
// exekra_identity_token_authentications_total{outcome} counter.
func apiTokens(d *daemon.Deps) (*apitoken.Service, error) {
	auths := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "exekra_identity_token_authentications_total",
		Help: "API token authentications by outcome (ok, malformed, unknown, revoked, expired, disabled, throttled, error).",
	}, []string{"outcome"})
	d.Metrics.MustRegister(auths)
	return apitoken.NewService(apitoken.Deps{
		Store:       postgres.NewStore(d.DB, d.Outbox),
		Log:         d.Log,
		Now:         time.Now,
		MaxLifetime: time.Duration(d.Config.Identity.TokenMaxLifetime),
		Sessions:    natsapi.Announcer{NC: d.NATS.Conn(), Log: d.Log},
		Count:       func(outcome string) { auths.WithLabelValues(outcome).Inc() },
		Limiter:     tokenbucket.New(d.Redis),
	})
}
