package daemon

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
)

// listen binds the metrics port and, for an HTTP service, its own port and
// TLS settings: a port in use or an unreadable certificate fails start-up
// before any dependency is waited for. A micro service's metrics port
// answers from now on (/readyz "starting" until it is wired).
func (p *process) listen(ctx context.Context) error {
	p.reg = metrics.New(p.spec.Name)
	key, addr := p.cfg.MetricsListen(p.spec.Name)
	msrv, err := metrics.Listen(key, addr, p.reg, p.cfg.Path(p.cfg.Metrics.TokenFile))
	if err != nil {
		return err
	}
	p.metrics = &metricsPort{srv: msrv, log: p.log}
	p.onClose(p.metrics.close) // frees the port on every way out of Run
	if p.spec.HTTP == nil {
		p.metrics.serve(ctx)
		return nil
	}
	return p.listenHTTP()
}

// listenHTTP binds an HTTP service's own port and reads its TLS settings.
func (p *process) listenHTTP() error {
	key, addr := p.spec.HTTP.Listen(p.cfg)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%s %s: %w", key, addr, err)
	}
	p.ln = limitConnections(ln, openFilesLimit(), p.log)
	p.onClose(func() { ln.Close() })
	if p.spec.HTTP.TLS == nil {
		return nil
	}
	p.tls, err = p.spec.HTTP.TLS(p.cfg)
	return err
}

// open connects to the service's dependencies, each as the service's own
// user: PostgreSQL (migrations applied) unless NoDatabase, Redis when
// UsesRedis, and NATS.
func (p *process) open(ctx context.Context) error {
	d := &Deps{Config: p.cfg, Log: p.log, Metrics: p.reg, Outbox: outbox.Writer{Service: p.spec.Name}, Started: p.started}
	wait := p.cfg.Database.ConnectTimeout.D()
	var err error
	if !p.spec.NoDatabase {
		if d.DB, err = p.openDatabase(ctx, wait); err != nil {
			return err
		}
	}
	if p.spec.UsesRedis {
		if d.Redis, err = p.openRedis(ctx, wait); err != nil {
			return err
		}
	}
	nc, err := natsrpc.Connect(natsrpc.DialOf(p.cfg, busauth.Principal(p.spec.Name)), p.log)
	if err != nil {
		return err
	}
	p.onClose(nc.Close)
	p.nc, d.NATS = nc, natsrpc.NewClient(nc, p.reg)
	p.deps = d
	return nil
}

// openDatabase opens the service's pool and applies its migrations (with
// the outbox table when Spec.Outbox) to its schema.
func (p *process) openDatabase(ctx context.Context, wait time.Duration) (*pgxpool.Pool, error) {
	name := p.spec.Name
	pool, err := sqldb.Open(ctx, p.cfg.DatabaseURL(name), name, p.cfg.Database.MaxConns, wait)
	if err != nil {
		return nil, err
	}
	p.onClose(pool.Close)
	migrations := p.spec.Migrations
	if p.spec.Outbox {
		migrations = append(migrations[:len(migrations):len(migrations)], outbox.Migration(outboxMigration))
	}
	n, err := migrate.Apply(ctx, pool, name, migrations)
	if err != nil {
		return nil, err
	}
	p.log.Info("migrations applied", "schema", name, "new", n)
	return pool, nil
}

// openRedis logs in to Redis as the service's ACL user.
func (p *process) openRedis(ctx context.Context, wait time.Duration) (*redis.Client, error) {
	rdb, err := redisdb.Open(ctx, p.cfg.Redis.URL, redisdb.User(p.spec.Name), p.cfg.Path(p.cfg.Hub.CredentialsDir), wait)
	if err != nil {
		return nil, err
	}
	p.onClose(func() { rdb.Close() })
	return rdb, nil
}

// startOutbox runs the audit outbox's relay until ctx ends, when Spec.Outbox.
func (p *process) startOutbox(ctx context.Context) error {
	if !p.spec.Outbox {
		return nil
	}
	relay, err := outbox.NewRelay(p.deps.DB, p.nc, p.deps.NATS, p.spec.Name, p.log)
	if err != nil {
		return err
	}
	go relay.Run(ctx)
	return nil
}
