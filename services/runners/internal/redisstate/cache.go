// Package redisstate keeps the runners service's transient state in Redis,
// shared by every instance: the credential cache, presence and the set of
// runners whose presence PostgreSQL has not received yet, and the token
// buckets that throttle failed authentications.
package redisstate

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/redis/go-redis/v9"
)

// How long cache entries live. A valid entry is refilled from PostgreSQL
// after an hour, which bounds how long a database restored from a backup
// and the cache can disagree. A pending entry outlives any transaction that
// marked it; a deleted one any fill that a deletion overtook.
const (
	ValidTTL   = time.Hour
	PendingTTL = 10 * time.Minute
	DeletedTTL = time.Hour
)

// putScript writes an entry unless the stored one has a higher version, or
// the same version and is not a pending one being completed. Arguments:
// version, state, hash (hex), record (JSON), TTL in ms.
var putScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'v', 'state')
local v = tonumber(ARGV[1])
if cur[1] then
  local cv = tonumber(cur[1])
  if cv > v then return 0 end
  if cv == v and (cur[2] ~= 'pending' or ARGV[2] == 'pending') then return 0 end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'state', ARGV[2], 'hash', ARGV[3], 'record', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`)

// Cache implements runner.CredentialCache.
type Cache struct {
	rdb     redis.UniversalClient
	buckets *tokenbucket.Limiter
}

var _ runner.CredentialCache = (*Cache)(nil)

// NewCache returns the credential cache on rdb.
func NewCache(rdb redis.UniversalClient) *Cache {
	return &Cache{rdb: rdb, buckets: tokenbucket.New(rdb)}
}

func credentialKey(id string) string { return "exekra:runners:cred:" + id }

// record is the registry part of a cached credential.
type record struct {
	Name        string    `json:"name"`
	Environment string    `json:"environment"`
	Labels      []string  `json:"labels"`
	CreatedAt   time.Time `json:"created_at"`
}

// Put writes e, ordered by version (see runner.CredentialCache).
func (c *Cache) Put(ctx context.Context, e runner.CacheEntry) error {
	ttl, hash, rec := ValidTTL, "", []byte("{}")
	switch e.State {
	case runner.CacheValid:
		r := e.Credential.Runner
		hash = hex.EncodeToString(e.Credential.SecretSHA256)
		rec, _ = json.Marshal(record{Name: r.Name, Environment: r.Environment, Labels: r.Labels, CreatedAt: r.CreatedAt})
	case runner.CachePending:
		ttl = PendingTTL
	case runner.CacheDeleted:
		ttl = DeletedTTL
	default:
		return fmt.Errorf("cache state %q cannot be written", e.State)
	}
	key := credentialKey(e.Credential.Runner.ID)
	err := putScript.Run(ctx, c.rdb, []string{key}, e.Credential.Version, string(e.State), hash, rec, ttl.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("cache credential of runner %s: %w", e.Credential.Runner.ID, err)
	}
	return nil
}

// Lookup returns the entry of runner id (CacheMissing when there is none)
// and how long until lock has a token (0 when it has one, or when lock is
// the zero Bucket: none is read), in one round trip.
func (c *Cache) Lookup(ctx context.Context, id string, now time.Time, lock runner.Bucket) (runner.CacheEntry, time.Duration, error) {
	var wait time.Duration
	var cred *redis.MapStringStringCmd
	if lock.Key == "" {
		cred = c.rdb.HGetAll(ctx, credentialKey(id))
	} else {
		pipe := c.rdb.Pipeline()
		locked := c.buckets.QueueWait(ctx, pipe, now, []runner.Bucket{lock})
		cred = pipe.HGetAll(ctx, credentialKey(id))
		pipe.Exec(ctx) // each command's answer, or error, is read from it
		var err error
		if wait, err = locked.Result(ctx); err != nil {
			return runner.CacheEntry{}, 0, err
		}
	}
	m, err := cred.Result()
	if err != nil {
		return runner.CacheEntry{}, 0, fmt.Errorf("look up credential of runner %s: %w", id, err)
	}
	return entryOf(id, m), wait, nil
}

// entryOf decodes the stored entry of runner id.
func entryOf(id string, m map[string]string) runner.CacheEntry {
	e, err := decodeEntry(id, m)
	if err != nil { // a damaged entry is as good as none: PostgreSQL is read
		return runner.CacheEntry{}
	}
	return e
}

func decodeEntry(id string, m map[string]string) (runner.CacheEntry, error) {
	if len(m) == 0 {
		return runner.CacheEntry{}, nil
	}
	v, err := strconv.ParseInt(m["v"], 10, 64)
	if err != nil {
		return runner.CacheEntry{}, err
	}
	e := runner.CacheEntry{State: runner.CacheState(m["state"]), Credential: runner.Credential{Version: v, Runner: runner.Runner{ID: id}}}
	switch e.State {
	case runner.CachePending, runner.CacheDeleted:
		return e, nil
	case runner.CacheValid:
	default:
		return runner.CacheEntry{}, fmt.Errorf("unknown state %q", e.State)
	}
	if e.Credential.SecretSHA256, err = hex.DecodeString(m["hash"]); err != nil {
		return runner.CacheEntry{}, err
	}
	var rec record
	if err := json.Unmarshal([]byte(m["record"]), &rec); err != nil {
		return runner.CacheEntry{}, err
	}
	e.Credential.Runner = runner.Runner{ID: id, Name: rec.Name, Environment: rec.Environment, Labels: rec.Labels, CreatedAt: rec.CreatedAt}
	if e.Credential.Runner.Labels == nil {
		e.Credential.Runner.Labels = []string{}
	}
	return e, nil
}
