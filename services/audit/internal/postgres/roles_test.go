package postgres

import (
	"context"
	"crypto/rand"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
)

// TestMigrationsRunAsAnOwnerWithoutCreateRole is the enterprise database of
// deploy/enterprise/postgres/create-databases.sql: the DBA made the writer
// role and granted it to the audit service's login role, which owns its
// database but may not create roles. The migrations apply as that role, and
// the service then works as the writer.
func TestMigrationsRunAsAnOwnerWithoutCreateRole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	login := "exk_audit_" + strings.ToLower(rand.Text()[:10])
	password := rand.Text()
	for _, stmt := range []string{
		`DO $$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'exekra_audit_writer') THEN
				CREATE ROLE exekra_audit_writer NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
			END IF;
		EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`,
		"CREATE ROLE " + login + " LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB PASSWORD '" + password + "'",
		"GRANT exekra_audit_writer TO " + login,
	} {
		if _, err := admin.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	// Registered before the database, so it runs after the database is dropped.
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), pgtest.AdminURL())
		if err == nil {
			c.Exec(context.Background(), "DROP ROLE IF EXISTS "+login)
			c.Close(context.Background())
		}
	})
	dbURL, err := url.Parse(pgtest.New(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+strings.TrimPrefix(dbURL.Path, "/")+" OWNER TO "+login); err != nil {
		t.Fatal(err)
	}
	dbURL.User = url.UserPassword(login, password)

	owner, err := sqldb.Open(ctx, dbURL.String(), "audit", 2, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	files, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := migrate.Apply(ctx, owner, "audit", files); err != nil {
		t.Fatalf("migrations as a login role without CREATEROLE: %v", err)
	}
	writer, err := sqldb.Open(ctx, dbURL.String(), "audit", 2, 5*time.Second, sqldb.AsRole(WriterRole))
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close()
	s := NewStore(writer)
	if _, err := s.Append(ctx, events(3)); err != nil {
		t.Fatal(err)
	}
	if _, err := writer.Exec(ctx, "DELETE FROM audit_log"); err == nil {
		t.Fatal("the writer role deleted from the log")
	}
	if got := verify(t, s); !got.OK || got.Checked != 3 {
		t.Fatalf("verify = %+v", got)
	}
}
