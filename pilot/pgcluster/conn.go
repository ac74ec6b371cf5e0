package pgcluster

import (
	"context"
	"fmt"
	"net/url"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// socketURL reaches the cluster through its Unix socket, where local trust
// applies; the socket directory is private to the cluster's owner and root.
func (c *Cluster) socketURL(database string) string {
	q := url.Values{"host": {c.socketDir}, "port": {strconv.Itoa(c.port)}, "user": {Role},
		"sslmode": {"disable"}, "connect_timeout": {"2"}}
	return (&url.URL{Scheme: "postgres", Path: "/" + database, RawQuery: q.Encode()}).String()
}

// Ping reports whether the server accepts a connection now.
func (c *Cluster) Ping(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.socketURL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return conn.Ping(ctx)
}

// AfterStart finishes a running cluster: it sets a lost password anew and
// creates the services' database when missing.
func (c *Cluster) AfterStart(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.socketURL("postgres"))
	if err != nil {
		return fmt.Errorf("private PostgreSQL: connect through %s: %w", c.socketDir, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if c.resetPassword {
		// The password is hex, so quoting it is safe; utility statements take no parameters.
		if _, err := conn.Exec(ctx, "ALTER ROLE "+Role+" PASSWORD '"+c.password+"'"); err != nil {
			return fmt.Errorf("private PostgreSQL: set the new password of role %s: %w", Role, err)
		}
		c.resetPassword = false
	}
	var found bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", Database).Scan(&found)
	if err != nil {
		return fmt.Errorf("private PostgreSQL: look for database %s: %w", Database, err)
	}
	if found {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+Database+" OWNER "+Role); err != nil {
		return fmt.Errorf("private PostgreSQL: create database %s: %w", Database, err)
	}
	return nil
}
