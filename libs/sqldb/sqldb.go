// Package sqldb opens a service's PostgreSQL pool, bound to the service's own schema.
package sqldb

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects to url with search_path set to schema, waiting up to wait for
// the server to answer. Errors name the host, never the password.
func Open(ctx context.Context, url, schema string, maxConns int, wait time.Duration, opts ...Option) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, fmt.Errorf("no database connection string: set database.url (EXEKRA_DATABASE_URL)")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database connection string is malformed (check database.url)")
	}
	cfg.MaxConns = int32(maxConns)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	cfg.ConnConfig.RuntimeParams["application_name"] = "exekra-" + schema
	cfg.ConnConfig.ConnectTimeout = 3 * time.Second
	for _, opt := range opts {
		opt(cfg)
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL at %s: %w", where, err)
	}
	deadline := time.Now().Add(wait)
	for {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		err = pool.Ping(pctx)
		cancel()
		if err == nil {
			return pool, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			pool.Close()
			return nil, fmt.Errorf("PostgreSQL at %s is unreachable: %w", where, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Option adjusts a pool's configuration.
type Option func(*pgxpool.Config)

// AsRole makes every connection act as role (SET ROLE), so the pool holds only
// that role's privileges, e.g. the audit writer's INSERT and SELECT.
func AsRole(role string) Option {
	return func(cfg *pgxpool.Config) {
		cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
			_, err := conn.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize())
			return err
		}
	}
}

// Ping measures one round trip to the database.
func Ping(ctx context.Context, pool *pgxpool.Pool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	start := time.Now()
	var one int
	if err := pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
