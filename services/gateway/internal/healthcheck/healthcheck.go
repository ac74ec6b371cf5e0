// Package healthcheck builds the Hub's health report: the gateway's own NATS
// and Redis connections plus the status of every back-end service, which
// includes each service's measured PostgreSQL round trip.
package healthcheck

import (
	"context"
	"sync"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/health"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/nats-io/nats.go"
	"github.com/redis/go-redis/v9"
)

// Report is the body of GET /api/health.
type Report struct {
	Status        string            `json:"status"` // ok | degraded
	Version       string            `json:"version"`
	Commit        string            `json:"commit"`
	UptimeSeconds int64             `json:"uptime_seconds"`
	Database      Database          `json:"database"`
	NATS          string            `json:"nats"`
	Redis         string            `json:"redis"`
	Services      map[string]string `json:"services"`
}

// Database is the database part of the report.
type Database struct {
	Status    string  `json:"status"` // up | down | unknown (no service could measure it)
	LatencyMS float64 `json:"latency_ms"`
}

// OK reports whether every part is up.
func (r Report) OK() bool { return r.Status == "ok" }

// Checker measures health.
type Checker struct {
	NATS    *natsrpc.Client
	Redis   *redis.Client
	Started time.Time
	Timeout time.Duration // per service status request
}

// Check measures every part concurrently.
func (c *Checker) Check(ctx context.Context) Report {
	r := Report{
		Version: buildinfo.Version, Commit: buildinfo.Commit, UptimeSeconds: int64(time.Since(c.Started).Seconds()),
		NATS: health.Down, Redis: health.Down, Services: map[string]string{},
	}
	if c.NATS.Conn().Status() == nats.CONNECTED {
		r.NATS = health.Up
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if redisdb.Ping(ctx, c.Redis) == nil {
			r.Redis = health.Up
		}
	})
	statuses := make([]*health.Status, len(health.Services))
	for i, svc := range health.Services {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, c.Timeout)
			defer cancel()
			if st, err := natsrpc.Call[health.Status](sctx, c.NATS, health.StatusSubject(svc), health.StatusRequest{}); err == nil {
				statuses[i] = &st
			}
		})
	}
	wg.Wait()
	r.Database = Database{Status: "unknown"}
	for i, svc := range health.Services {
		r.Services[svc] = health.Down
		st := statuses[i]
		if st == nil {
			continue
		}
		r.Services[svc] = health.Up
		mergeDatabase(&r.Database, st.Database)
	}
	r.Status = "ok"
	if r.NATS != health.Up || r.Redis != health.Up || r.Database.Status != health.Up {
		r.Status = "degraded"
	}
	for _, s := range r.Services {
		if s != health.Up {
			r.Status = "degraded"
		}
	}
	return r
}

// mergeDatabase folds one service's view in: down wins, latency is the worst seen.
func mergeDatabase(db *Database, d health.Dependency) {
	switch {
	case d.Status != health.Up:
		db.Status, db.LatencyMS = health.Down, 0
	case db.Status != health.Down:
		db.Status = health.Up
		db.LatencyMS = max(db.LatencyMS, d.LatencyMS)
	}
}
