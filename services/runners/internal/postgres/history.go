package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/history"
	"github.com/jackc/pgx/v5"
)

// HistoryStore reads and writes the runners' metrics and counts history
// and reads the dashboard's figures, in the runners schema.
type HistoryStore struct{ *Store }

var _ history.Store = HistoryStore{}

// History is the history store on the same pool.
func (s *Store) History() HistoryStore { return HistoryStore{s} }

// hourOrigin aligns hours (and minutes) on UTC whatever the session's time zone.
const hourOrigin = "timestamptz '2000-01-01 00:00:00+00'"

// recordMetrics adds one heartbeat's metrics to its runner's minute.
const recordMetrics = `
INSERT INTO runner_metrics AS m (runner_id, minute, samples, cpu_sum, cpu_max, memory_sum, memory_max, disk_free_min)
SELECT u.id, date_bin('1 minute', u.at, ` + hourOrigin + `), 1, u.cpu, u.cpu, u.mem, u.mem, u.disk
FROM unnest($1::uuid[], $2::timestamptz[], $3::float8[], $4::float8[], $5::bigint[]) AS u(id, at, cpu, mem, disk)
WHERE EXISTS (SELECT 1 FROM runners r WHERE r.id = u.id)
ON CONFLICT (runner_id, minute) DO UPDATE SET samples = m.samples + 1,
    cpu_sum = m.cpu_sum + excluded.cpu_sum, cpu_max = greatest(m.cpu_max, excluded.cpu_max),
    memory_sum = m.memory_sum + excluded.memory_sum, memory_max = greatest(m.memory_max, excluded.memory_max),
    disk_free_min = least(m.disk_free_min, excluded.disk_free_min)`

// RunnerExists reports whether a runner is registered.
func (s HistoryStore) RunnerExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM runners WHERE id = $1)", id).Scan(&ok); err != nil {
		return false, fmt.Errorf("find runner %s: %w", id, err)
	}
	return ok, nil
}

// RunnerMetrics returns a runner's minutes at or after since, oldest first.
func (s HistoryStore) RunnerMetrics(ctx context.Context, id string, since time.Time) ([]runners.MetricsPoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT minute, samples, cpu_sum / samples, cpu_max, memory_sum / samples, memory_max, disk_free_min
		FROM runner_metrics WHERE runner_id = $1 AND minute >= $2 ORDER BY minute`, id, since)
	if err != nil {
		return nil, fmt.Errorf("read metrics of runner %s: %w", id, err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.MetricsPoint, error) {
		var p runners.MetricsPoint
		err := r.Scan(&p.Minute, &p.Samples, &p.CPUPercentAvg, &p.CPUPercentMax, &p.MemoryPercentAvg, &p.MemoryPercentMax, &p.DiskFreeBytesMin)
		p.Minute = p.Minute.UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("read metrics of runner %s: %w", id, err)
	}
	return ps, nil
}

// RecordRunnerCounts writes the counts of minute unless they are written.
func (s HistoryStore) RecordRunnerCounts(ctx context.Context, minute time.Time, online map[string]int) error {
	envs, ns := make([]string, 0, len(online)), make([]int32, 0, len(online))
	for env, n := range online {
		envs, ns = append(envs, env), append(ns, int32(n))
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO runner_counts (minute, environment, online)
		SELECT $1, * FROM unnest($2::text[], $3::int[]) ON CONFLICT (minute, environment) DO NOTHING`, minute, envs, ns)
	if err != nil {
		return fmt.Errorf("record runner counts at %s: %w", minute.Format(time.RFC3339), err)
	}
	return nil
}

// PruneHistory deletes what is past its bound.
func (s HistoryStore) PruneHistory(ctx context.Context, metricsBefore, countsBefore time.Time) (int64, error) {
	b := &pgx.Batch{}
	b.Queue("DELETE FROM runner_metrics WHERE minute < $1", metricsBefore)
	b.Queue("DELETE FROM runner_counts WHERE minute < $1", countsBefore)
	br := s.pool.SendBatch(ctx, b)
	var n int64
	for range 2 {
		tag, err := br.Exec()
		if err != nil {
			_ = br.Close()
			return n, fmt.Errorf("prune history: %w", err)
		}
		n += tag.RowsAffected()
	}
	if err := br.Close(); err != nil {
		return n, fmt.Errorf("prune history: %w", err)
	}
	return n, nil
}

// JobsFinished counts the jobs finished in each hour of w by status.
func (s HistoryStore) JobsFinished(ctx context.Context, w history.Window) ([]runners.JobsFinishedHour, error) {
	rows, err := s.pool.Query(ctx, `SELECT date_bin('1 hour', finished_at, `+hourOrigin+`) AS hour,
			count(*) FILTER (WHERE status = 'succeeded')::int, count(*) FILTER (WHERE status = 'failed')::int,
			count(*) FILTER (WHERE status = 'canceled')::int
		FROM jobs WHERE finished_at IS NOT NULL AND finished_at >= $1 AND finished_at < $2
		GROUP BY hour ORDER BY hour`, w.From, w.To)
	if err != nil {
		return nil, fmt.Errorf("count finished jobs: %w", err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.JobsFinishedHour, error) {
		var h runners.JobsFinishedHour
		err := r.Scan(&h.Hour, &h.Succeeded, &h.Failed, &h.Canceled)
		h.Hour = h.Hour.UTC()
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("count finished jobs: %w", err)
	}
	return nonNil(hs), nil
}

// RunnersOnline sums up each hour of w's per-minute counts by environment.
func (s HistoryStore) RunnersOnline(ctx context.Context, w history.Window) ([]runners.RunnersOnlineHour, error) {
	rows, err := s.pool.Query(ctx, `SELECT date_bin('1 hour', minute, `+hourOrigin+`) AS hour, environment,
			avg(online)::float8, max(online)
		FROM runner_counts WHERE minute >= $1 AND minute < $2
		GROUP BY hour, environment ORDER BY hour, environment`, w.From, w.To)
	if err != nil {
		return nil, fmt.Errorf("read runner counts: %w", err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.RunnersOnlineHour, error) {
		var h runners.RunnersOnlineHour
		err := r.Scan(&h.Hour, &h.Environment, &h.Avg, &h.Max)
		h.Hour = h.Hour.UTC()
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("read runner counts: %w", err)
	}
	return nonNil(hs), nil
}

// PickupLatency is the 95th percentile, per hour of w, of the time from a
// job's creation to its first claim, over the jobs first claimed in it.
func (s HistoryStore) PickupLatency(ctx context.Context, w history.Window) ([]runners.PickupLatencyHour, error) {
	rows, err := s.pool.Query(ctx, `SELECT date_bin('1 hour', a.started_at, `+hourOrigin+`) AS hour, count(*)::int,
			percentile_cont(0.95) WITHIN GROUP (ORDER BY greatest(extract(epoch FROM a.started_at - j.created_at), 0))::float8
		FROM job_attempts a JOIN jobs j ON j.id = a.job_id
		WHERE a.number = 1 AND a.started_at >= $1 AND a.started_at < $2
		GROUP BY hour ORDER BY hour`, w.From, w.To)
	if err != nil {
		return nil, fmt.Errorf("read pickup latency: %w", err)
	}
	hs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.PickupLatencyHour, error) {
		var h runners.PickupLatencyHour
		err := r.Scan(&h.Hour, &h.Jobs, &h.P95Seconds)
		h.Hour = h.Hour.UTC()
		return h, err
	})
	if err != nil {
		return nil, fmt.Errorf("read pickup latency: %w", err)
	}
	return nonNil(hs), nil
}

// PendingCounts counts pending jobs by environment.
func (s HistoryStore) PendingCounts(ctx context.Context) (map[string]int, error) {
	return s.Jobs().PendingCounts(ctx)
}

// nonNil makes an empty answer an empty list, not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
