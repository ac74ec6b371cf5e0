package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/jackc/pgx/v5"
)

// recordPresence writes many runners' last sighting in one statement; a
// sighting older than the stored one (another instance flushed a newer one
// first) changes nothing.
const recordPresence = `
UPDATE runners AS r SET last_seen_at = u.at, connected_from = u.addr, version = u.version, os = u.os,
       hostname = u.host, cpu_percent = u.cpu, memory_percent = u.mem, disk_free_bytes = u.disk, agent_commit = u.agent_commit
FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
            $7::float8[], $8::float8[], $9::bigint[], $10::text[]) AS u(id, at, addr, version, os, host, cpu, mem, disk, agent_commit)
WHERE r.id = u.id AND (r.last_seen_at IS NULL OR r.last_seen_at < u.at)`

// RecordPresence writes seen (by runner id) in one statement, and adds
// their metrics to the runners' minutes.
func (s *Store) RecordPresence(ctx context.Context, seen map[string]runner.Presence) error {
	n := len(seen)
	ids, addrs, versions, oses, hosts := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	commits := make([]string, 0, n)
	ats, cpus, mems, disks := make([]time.Time, 0, n), make([]float64, 0, n), make([]float64, 0, n), make([]int64, 0, n)
	for id, p := range seen {
		ids, ats, addrs = append(ids, id), append(ats, p.LastSeen), append(addrs, p.Address)
		versions, oses, hosts = append(versions, p.Version), append(oses, p.OS), append(hosts, p.Hostname)
		commits = append(commits, p.Commit)
		cpus, mems, disks = append(cpus, p.Metrics.CPUPercent), append(mems, p.Metrics.MemoryPercent), append(disks, p.Metrics.DiskFreeBytes)
	}
	// The sighting and the metrics history (history.go) go in one round trip.
	b := &pgx.Batch{}
	b.Queue(recordPresence, ids, ats, addrs, versions, oses, hosts, cpus, mems, disks, commits)
	b.Queue(recordMetrics, ids, ats, cpus, mems, disks)
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("record presence of %d runners: %w", n, err)
	}
	return nil
}
