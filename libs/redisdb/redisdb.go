// Package redisdb opens the shared Redis client that holds transient state:
// job queues, presence and rate-limit counters.
package redisdb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	neturl "net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Open parses url and checks the server answers within wait. A URL without
// a user name or password logs in as user with the password kept in
// credsDir (see PasswordFile), when there is one there.
func Open(ctx context.Context, url string, user User, credsDir string, wait time.Duration) (*redis.Client, error) {
	if url == "" {
		return nil, fmt.Errorf("no Redis URL: set redis.url (EXEKRA_REDIS_URL)")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redis.url is malformed: %s", withoutURL(err))
	}
	if opts.Username == "" && opts.Password == "" && credsDir != "" {
		pw, err := Password(credsDir, user)
		switch {
		case err == nil:
			opts.Username, opts.Password = string(user), pw
		case !errors.Is(err, fs.ErrNotExist):
			return nil, err
		}
	}
	if !strings.Contains(url, "protocol=") {
		// RESP2: the Hub uses no RESP3 feature, and go-redis looks for RESP3
		// push notifications around every command (measurable per read).
		opts.Protocol = 2
	}
	opts.DialTimeout = 2 * time.Second
	opts.ReadTimeout = 3 * time.Second
	opts.WriteTimeout = 3 * time.Second
	client := redis.NewClient(opts)
	deadline := time.Now().Add(wait)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err = client.Ping(pctx).Err()
		cancel()
		if err == nil {
			return client, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			client.Close()
			return nil, fmt.Errorf("Redis at %s is unreachable: %w", opts.Addr, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// Ping reports whether Redis answers now.
func Ping(ctx context.Context, client *redis.Client) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return client.Ping(ctx).Err()
}

// withoutURL drops the URL that net/url quotes in its errors: it may hold a password.
func withoutURL(err error) error {
	var uerr *neturl.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}
