// Package throttle keeps token buckets in Redis, shared by every instance of
// the service. Each operation is one Lua script, so it is atomic: a burst of
// concurrent attempts can never take more tokens than a bucket holds.
package throttle

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/redis/go-redis/v9"
)

// Each bucket is kept as one number, GCRA style (the generic cell rate
// algorithm): the time, in ms, at which the bucket is full again. A bucket
// whose time is not after now is full; taking a token moves its time one
// refill period later; a take is refused when that would put it more than
// burst periods after now, and the excess is the wait. Only integers, so
// waits are exact. Time is the caller's clock: a clock behind the last
// writer's (another instance) sees an emptier bucket, never a fuller one. A
// key expires when its bucket is full again. Arguments: now, then burst and
// ms per token for each key.
const gcra = `
local now = tonumber(ARGV[1])
local function tat(i)
  local v = tonumber(redis.call('GET', KEYS[i]))
  if v == nil or v < now then return now end
  return v
end
local function save(i, v)
  if v > now then
    redis.call('SET', KEYS[i], string.format('%.0f', v), 'PX', string.format('%.0f', v - now + 1000))
  else
    redis.call('DEL', KEYS[i])
  end
end
`

// takeScript returns 0 having taken a token from every bucket, or the ms
// until every bucket has one, having taken none.
var takeScript = redis.NewScript(gcra + `
local wait, next = 0, {}
for i = 1, #KEYS do
  local burst, per = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  next[i] = tat(i) + per
  wait = math.max(wait, next[i] - now - burst * per)
end
if wait > 0 then return wait end
for i = 1, #KEYS do save(i, next[i]) end
return 0
`)

// giveScript puts a token back into every bucket, up to its burst.
var giveScript = redis.NewScript(gcra + `
for i = 1, #KEYS do
  local per = tonumber(ARGV[2 * i + 1])
  save(i, math.max(tat(i) - per, now))
end
return 0
`)

// Limiter implements user.Limiter on Redis.
type Limiter struct{ rdb redis.Scripter }

var _ user.Limiter = (*Limiter)(nil)

// New returns a limiter on rdb.
func New(rdb redis.Scripter) *Limiter { return &Limiter{rdb: rdb} }

// Take takes a token from every bucket, or none and says how long to wait.
func (l *Limiter) Take(ctx context.Context, now time.Time, buckets []user.Bucket) (time.Duration, error) {
	keys, args := scriptArgs(now, buckets)
	ms, err := takeScript.Run(ctx, l.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("take from token buckets: %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// Give puts a token back into every bucket.
func (l *Limiter) Give(ctx context.Context, now time.Time, buckets []user.Bucket) error {
	keys, args := scriptArgs(now, buckets)
	if err := giveScript.Run(ctx, l.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("give back to token buckets: %w", err)
	}
	return nil
}

func scriptArgs(now time.Time, buckets []user.Bucket) ([]string, []any) {
	keys := make([]string, len(buckets))
	args := []any{strconv.FormatInt(now.UnixMilli(), 10)}
	for i, b := range buckets {
		keys[i] = b.Key
		args = append(args, b.Burst, max(b.Per.Milliseconds(), 1))
	}
	return keys, args
}
