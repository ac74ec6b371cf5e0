package sqldb_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/pgtest"
)

func TestOpenRefusesBadConnectionStrings(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		want    []string
		maxWait time.Duration
	}{
		{
			name: "an unreachable server fails within the wait, naming host and port",
			url:  "postgres://exekra:hunter2@127.0.0.1:1/hub?sslmode=disable",
			want: []string{"127.0.0.1:1", "unreachable"}, maxWait: 5 * time.Second,
		},
		{
			name: "a malformed string is refused without echoing it",
			url:  "postgres://exekra:hunter2@127.0.0.1:notaport/hub",
			want: []string{"malformed"}, maxWait: time.Second,
		},
		{
			name: "an empty string names the setting",
			url:  "",
			want: []string{"database.url", "EXEKRA_DATABASE_URL"}, maxWait: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			pool, err := sqldb.Open(context.Background(), tt.url, "identity", 2, time.Second)
			took := time.Since(start)
			if err == nil {
				pool.Close()
				t.Fatal("Open() succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the password", err)
			}
			if took > tt.maxWait {
				t.Errorf("Open() took %s, want at most %s", took, tt.maxWait)
			}
		})
	}
}

func TestOpenStopsWaitingWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := sqldb.Open(ctx, "postgres://exekra@127.0.0.1:1/hub?sslmode=disable", "identity", 2, time.Minute)
	if err == nil {
		t.Fatal("Open() succeeded")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("Open() took %s after its context ended", took)
	}
}

func TestOpenBindsThePoolToTheSchema(t *testing.T) {
	ctx := context.Background()
	pool, err := sqldb.Open(ctx, pgtest.New(t), "licensing", 2, 5*time.Second)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, "CREATE SCHEMA licensing; CREATE TABLE keys (id int)"); err != nil {
		t.Fatal(err)
	}
	var schema, app string
	err = pool.QueryRow(ctx, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'keys'").Scan(&schema)
	if err != nil || schema != "licensing" {
		t.Fatalf("unqualified table landed in %q (%v), want licensing", schema, err)
	}
	if err := pool.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&app); err != nil || app != "exekra-licensing" {
		t.Fatalf("application_name = %q (%v), want exekra-licensing", app, err)
	}
	t.Run("ping measures a round trip", func(t *testing.T) {
		took, err := sqldb.Ping(ctx, pool)
		if err != nil || took <= 0 {
			t.Fatalf("Ping() = %s, %v", took, err)
		}
	})
	t.Run("ping on a closed pool fails", func(t *testing.T) {
		pool.Close()
		if _, err := sqldb.Ping(ctx, pool); err == nil {
			t.Fatal("Ping() on a closed pool succeeded")
		}
	})
}
