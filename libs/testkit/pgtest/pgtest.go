// Package pgtest gives each test a fresh PostgreSQL database on the server named
// by TEST_DATABASE_URL, dropped (WITH (FORCE)) when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/sqldb"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EnvURL names the variable holding the connection string of a server on
// which the tests may create and drop databases.
const EnvURL = "TEST_DATABASE_URL"

// DefaultURL is used when EnvURL is unset: a local server with trust auth.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL is the connection string of the server the tests use.
func AdminURL() string {
	if u := os.Getenv(EnvURL); u != "" {
		return u
	}
	return DefaultURL
}

// New creates a database named exk_test_<hex> and returns its connection
// string. The database is dropped when t ends. An unreachable server fails t.
func New(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	name := "exk_test_" + randomHex(8)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn := connect(ctx, t, admin)
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s on %s: %v", name, redact(admin), err)
	}
	t.Cleanup(func() { drop(t, admin, name) })
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return dbURL
}

// Pool creates a fresh database and opens it with sqldb.Open bound to schema
// (the schema itself is not created; migrate.Apply does that). The pool is
// closed before the database is dropped.
func Pool(t testing.TB, schema string) *pgxpool.Pool {
	t.Helper()
	dbURL := New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	pool, err := sqldb.Open(ctx, dbURL, schema, 4, 5*time.Second)
	if err != nil {
		t.Fatalf("pgtest: open pool: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func connect(ctx context.Context, t testing.TB, admin string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("pgtest: PostgreSQL at %s is unreachable: %v\n"+
			"start PostgreSQL there (user allowed to CREATE DATABASE) or set %s to one that is",
			redact(admin), err, EnvURL)
	}
	return conn
}

func drop(t testing.TB, admin, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
		return
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Errorf("pgtest: drop database %s: %v", name, err)
	}
}

// withDatabase returns admin with its database replaced by name. Both the URL
// form and the keyword/value form are understood.
func withDatabase(admin, name string) (string, error) {
	if strings.HasPrefix(admin, "postgres://") || strings.HasPrefix(admin, "postgresql://") {
		u, err := url.Parse(admin)
		if err != nil {
			return "", fmt.Errorf("%s is not a valid URL", EnvURL)
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return admin + " dbname=" + name, nil
}

// redact hides the password of a URL-form connection string.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "the server named by " + EnvURL
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails; see crypto/rand
	return hex.EncodeToString(b)
}
