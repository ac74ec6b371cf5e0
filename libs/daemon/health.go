package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/health"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/nats-io/nats.go"
)

// answerUnavailable makes a lost database (a PostgreSQL restart or failover)
// an unavailable answer, which callers retry, rather than an internal error.
func answerUnavailable(handle func(context.Context, []byte) (any, error)) func(context.Context, []byte) (any, error) {
	return func(ctx context.Context, data []byte) (any, error) {
		resp, err := handle(ctx, data)
		return resp, sqldb.Unavailable(err)
	}
}

// readiness is what /readyz checks: the service's critical dependencies,
// NATS and, when it uses them, its PostgreSQL and Redis.
func readiness(d *Deps, nc *nats.Conn) []metrics.Check {
	checks := []metrics.Check{{Name: "nats", Probe: natsrpc.Connected(nc)}}
	if d.DB != nil {
		checks = append(checks, metrics.Check{Name: "database", Probe: func(ctx context.Context) error {
			_, err := sqldb.Ping(ctx, d.DB)
			return err
		}})
	}
	if d.Redis != nil {
		checks = append(checks, metrics.Check{Name: "redis", Probe: func(ctx context.Context) error { return redisdb.Ping(ctx, d.Redis) }})
	}
	return checks
}

// status measures the service's own dependencies.
func status(ctx context.Context, d *Deps, name, instance string, started time.Time) health.Status {
	st := health.Status{Service: name, Version: buildinfo.Version, Commit: buildinfo.Commit, Instance: instance, UptimeSeconds: time.Since(started).Seconds()}
	if d.DB != nil {
		st.Database = probe(func() (time.Duration, error) { return sqldb.Ping(ctx, d.DB) })
	}
	if d.Redis != nil {
		r := probe(func() (time.Duration, error) {
			start := time.Now()
			err := redisdb.Ping(ctx, d.Redis)
			return time.Since(start), err
		})
		st.Redis = &r
	}
	return st
}

func probe(fn func() (time.Duration, error)) health.Dependency {
	took, err := fn()
	if err != nil {
		return health.Dependency{Status: health.Down, Error: "unreachable"}
	}
	return health.Dependency{Status: health.Up, LatencyMS: float64(took.Microseconds()) / 1000}
}

// semver gives micro the x.y.z it requires.
func semver(v string) string {
	var a, b, c int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &a, &b, &c); err != nil {
		return "0.0.0"
	}
	return fmt.Sprintf("%d.%d.%d", a, b, c)
}
