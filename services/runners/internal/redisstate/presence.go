package redisstate

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/redis/go-redis/v9"
)

// PresenceTTL is how long a runner's presence stays in Redis after its last
// heartbeat; long past the online window, and PostgreSQL has it by then.
const PresenceTTL = 10 * time.Minute

// dirtyKey is the set of runners heard from since the last flush.
const dirtyKey = "exekra:runners:dirty"

func presenceKey(id string) string { return "exekra:runners:presence:" + id }

// Presences implements runner.Presences.
type Presences struct{ rdb redis.UniversalClient }

var _ runner.Presences = (*Presences)(nil)

// NewPresences returns the presence store on rdb.
func NewPresences(rdb redis.UniversalClient) *Presences { return &Presences{rdb: rdb} }

type presenceJSON struct {
	LastSeen      time.Time `json:"last_seen"`
	Address       string    `json:"address"`
	UserAgent     string    `json:"user_agent"`
	Version       string    `json:"version"`
	Commit        string    `json:"commit,omitempty"`
	OS            string    `json:"os"`
	Hostname      string    `json:"hostname"`
	CPUPercent    float64   `json:"cpu_percent"`
	MemoryPercent float64   `json:"memory_percent"`
	DiskFreeBytes int64     `json:"disk_free_bytes"`
	RunningJobIDs []string  `json:"running_job_ids"`
}

// Record stores p and marks id for the next flush, in one round trip.
func (s *Presences) Record(ctx context.Context, id string, p runner.Presence) error {
	data, err := json.Marshal(presenceJSON{LastSeen: p.LastSeen, Address: p.Address, UserAgent: p.UserAgent,
		Version: p.Version, Commit: p.Commit, OS: p.OS, Hostname: p.Hostname, CPUPercent: p.Metrics.CPUPercent,
		MemoryPercent: p.Metrics.MemoryPercent, DiskFreeBytes: p.Metrics.DiskFreeBytes, RunningJobIDs: p.RunningJobIDs})
	if err != nil {
		return fmt.Errorf("encode presence: %w", err)
	}
	_, err = s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Set(ctx, presenceKey(id), data, PresenceTTL)
		pipe.SAdd(ctx, dirtyKey, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("record presence of runner %s: %w", id, err)
	}
	return nil
}

// Presences returns the stored presences of ids in one round trip.
func (s *Presences) Presences(ctx context.Context, ids []string) (map[string]runner.Presence, error) {
	out := make(map[string]runner.Presence, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = presenceKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return nil, fmt.Errorf("read presence of %d runners: %w", len(ids), err)
	}
	for i, v := range vals {
		raw, ok := v.(string)
		var p presenceJSON
		if !ok || json.Unmarshal([]byte(raw), &p) != nil {
			continue // absent or damaged: PostgreSQL's copy stands
		}
		out[ids[i]] = runner.Presence{LastSeen: p.LastSeen.UTC(), Address: p.Address, UserAgent: p.UserAgent,
			Version: p.Version, Commit: p.Commit, OS: p.OS, Hostname: p.Hostname, RunningJobIDs: p.RunningJobIDs,
			Metrics: runner.Metrics{CPUPercent: p.CPUPercent, MemoryPercent: p.MemoryPercent, DiskFreeBytes: p.DiskFreeBytes}}
	}
	return out, nil
}

// Forget drops id's presence and its flush mark.
func (s *Presences) Forget(ctx context.Context, id string) error {
	_, err := s.rdb.Pipelined(ctx, func(pipe redis.Pipeliner) error {
		pipe.Del(ctx, presenceKey(id))
		pipe.SRem(ctx, dirtyKey, id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("forget presence of runner %s: %w", id, err)
	}
	return nil
}

// TakeDirty pops up to max marked runner ids; each goes to one instance only.
func (s *Presences) TakeDirty(ctx context.Context, max int) ([]string, error) {
	ids, err := s.rdb.SPopN(ctx, dirtyKey, int64(max)).Result()
	if err != nil && err != redis.Nil {
		return nil, fmt.Errorf("take runners to flush: %w", err)
	}
	return ids, nil
}

// MarkDirty marks ids for the next flush again.
func (s *Presences) MarkDirty(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	if err := s.rdb.SAdd(ctx, dirtyKey, members...).Err(); err != nil {
		return fmt.Errorf("mark runners to flush: %w", err)
	}
	return nil
}
