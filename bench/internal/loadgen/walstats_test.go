package loadgen

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestReadWALStats: three transactions that wrote show in the counters at once.
func TestReadWALStats(t *testing.T) {
	url := os.Getenv("TEST_DATABASE_URL")
	if url == "" {
		t.Fatal("TEST_DATABASE_URL is not set (make test sets it)")
	}
	ctx := context.Background()
	before, err := ReadWALStats(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{"CREATE TABLE IF NOT EXISTS wal_probe (n int)", "INSERT INTO wal_probe SELECT generate_series(1, 100)", "DROP TABLE wal_probe"} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	after, err := ReadWALStats(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	per := after.perJob(before, 1)
	if per.Transactions < 3 || per.Bytes < 100*4 {
		t.Fatalf("a committed write did not show: %+v", per)
	}
}
