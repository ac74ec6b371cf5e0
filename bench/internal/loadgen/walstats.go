package loadgen

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// WALStats is where PostgreSQL's write-ahead log is (its insert position, in
// bytes) and the next transaction id it will assign: the one counts bytes of
// WAL written, the other transactions that wrote. Both move at once, unlike
// the statistics views, which backends report up to seconds late; and what
// a part wrote per job does not depend on how busy the machine was, unlike
// its CPU.
type WALStats struct {
	Bytes  int64 `json:"wal_bytes"`
	NextID int64 `json:"next_xid"`
}

// ReadWALStats reads the counters through databaseURL.
func ReadWALStats(ctx context.Context, databaseURL string) (WALStats, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return WALStats{}, fmt.Errorf("connect for WAL statistics: %w", err)
	}
	defer conn.Close(ctx)
	var s WALStats
	err = conn.QueryRow(ctx, `SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint,
		pg_snapshot_xmax(pg_current_snapshot())::text::bigint`).Scan(&s.Bytes, &s.NextID)
	if err != nil {
		return WALStats{}, fmt.Errorf("read WAL statistics: %w", err)
	}
	return s, nil
}

// perJob is what was written between before and after, per job.
func (after WALStats) perJob(before WALStats, jobs int) WALPerJob {
	if jobs == 0 {
		return WALPerJob{}
	}
	n := float64(jobs)
	return WALPerJob{Bytes: float64(after.Bytes-before.Bytes) / n, Transactions: float64(after.NextID-before.NextID) / n}
}

// WALPerJob is PostgreSQL's work per finished job of the throughput part:
// bytes of WAL, and transactions that wrote (each took a transaction id).
type WALPerJob struct {
	Bytes        float64 `json:"wal_bytes"`
	Transactions float64 `json:"write_transactions"`
}
