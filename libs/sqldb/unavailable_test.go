package sqldb_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestUnavailable: errors of a PostgreSQL that went away or cannot be
// reached become unavailable (503, retried by clients); bugs stay internal.
func TestUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dbURL := pgtest.New(t)
	conn := func(t *testing.T, url string) (*pgx.Conn, error) {
		t.Helper()
		c, err := pgx.Connect(ctx, url)
		if err == nil {
			t.Cleanup(func() { c.Close(context.Background()) })
		}
		return c, err
	}
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want errs.Kind
	}{
		{"a server that refuses connections", func(t *testing.T) error {
			_, err := conn(t, "postgres://exekra:pw@127.0.0.1:1/hub?sslmode=disable&connect_timeout=2")
			return err
		}, errs.Unavailable},
		{"a connection the server ended (a restart)", func(t *testing.T) error {
			c, err := conn(t, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			admin, err := conn(t, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend($1)", c.PgConn().PID()); err != nil {
				t.Fatal(err)
			}
			time.Sleep(100 * time.Millisecond)
			_, err = c.Exec(ctx, "SELECT 1")
			return err
		}, errs.Unavailable},
		{"a wrong query stays internal", func(t *testing.T) error {
			c, err := conn(t, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Exec(ctx, "SELEC 1")
			return err
		}, errs.Internal},
		{"a kind already given is kept", func(*testing.T) error {
			return errs.E(errs.Conflict, "taken")
		}, errs.Conflict},
		{"any other error stays internal", func(*testing.T) error {
			return errors.New("a bug")
		}, errs.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if err == nil {
				t.Fatal("no error to classify")
			}
			got := sqldb.Unavailable(err)
			if kind := errs.KindOf(got); kind != tt.want {
				t.Fatalf("%v: kind %s, want %s", err, kind, tt.want)
			}
			if !errors.Is(got, err) {
				t.Fatalf("the cause is lost: %v", got)
			}
		})
	}
	if sqldb.Unavailable(nil) != nil {
		t.Fatal("nil became an error")
	}
}
