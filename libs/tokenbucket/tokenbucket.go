// Package tokenbucket keeps rate-limit buckets in Redis, shared by every
// instance of a service (sign-in attempts, failed runner authentications).
// Each operation is one Lua script, so it is atomic: a burst of concurrent
// attempts can never take more tokens than a bucket holds.
package tokenbucket

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Bucket is one limit: Burst tokens, one more every Per.
type Bucket struct {
	Key   string
	Burst int
	Per   time.Duration
}

// Each bucket is kept as one number, GCRA style (the generic cell rate
// algorithm): the time, in ms, at which the bucket is full again. A bucket
// whose time is not after now is full; taking a token moves its time one
// refill period later; a take is refused when that would put it more than
// burst periods after now, and the excess is the wait. Only integers, so
// waits are exact. Time is the caller's clock: a clock behind the last
// writer's (another instance) sees an emptier bucket, never a fuller one. A
// key expires when its bucket is full again. Arguments: now, a flag (take or
// only look), then burst and ms per token for each key.
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

// takeScript returns 0 (having taken a token from every bucket unless only
// looking), or the ms until every bucket has one, having taken none.
var takeScript = redis.NewScript(gcra + `
local wait, next = 0, {}
for i = 1, #KEYS do
  local burst, per = tonumber(ARGV[2 * i + 1]), tonumber(ARGV[2 * i + 2])
  next[i] = tat(i) + per
  wait = math.max(wait, next[i] - now - burst * per)
end
if wait > 0 or ARGV[2] == 'look' then return math.max(wait, 0) end
for i = 1, #KEYS do save(i, next[i]) end
return 0
`)

// giveScript puts a token back into every bucket, up to its burst.
var giveScript = redis.NewScript(gcra + `
for i = 1, #KEYS do
  local per = tonumber(ARGV[2 * i + 2])
  save(i, math.max(tat(i) - per, now))
end
return 0
`)

// Limiter keeps buckets on one Redis.
type Limiter struct{ rdb redis.Scripter }

// New returns a limiter on rdb.
func New(rdb redis.Scripter) *Limiter { return &Limiter{rdb: rdb} }

// Take takes a token from every bucket, or none and says how long to wait.
func (l *Limiter) Take(ctx context.Context, now time.Time, buckets []Bucket) (time.Duration, error) {
	return l.run(ctx, takeScript, "take", now, buckets)
}

// Wait says how long until every bucket has a token, taking none.
func (l *Limiter) Wait(ctx context.Context, now time.Time, buckets []Bucket) (time.Duration, error) {
	return l.run(ctx, takeScript, "look", now, buckets)
}

// Give puts a token back into every bucket.
func (l *Limiter) Give(ctx context.Context, now time.Time, buckets []Bucket) error {
	_, err := l.run(ctx, giveScript, "give", now, buckets)
	return err
}

// Queued is a Wait sent in a pipeline with other commands: one round trip
// for all of them.
type Queued struct {
	l       *Limiter
	now     time.Time
	buckets []Bucket
	cmd     *redis.Cmd
}

// QueueWait queues a Wait for buckets on pipe; read its answer with Result
// once the pipeline has run.
func (l *Limiter) QueueWait(ctx context.Context, pipe redis.Pipeliner, now time.Time, buckets []Bucket) *Queued {
	keys, args := scriptArgs("look", now, buckets)
	return &Queued{l: l, now: now, buckets: buckets, cmd: takeScript.EvalSha(ctx, pipe, keys, args...)}
}

// Result is the queued Wait's answer. A Redis that does not hold the script
// (restarted, or flushed) is asked again on its own, which loads it.
func (q *Queued) Result(ctx context.Context) (time.Duration, error) {
	ms, err := q.cmd.Int64()
	if redis.HasErrorPrefix(err, "NOSCRIPT") {
		return q.l.Wait(ctx, q.now, q.buckets)
	}
	if err != nil {
		return 0, fmt.Errorf("token buckets (look): %w", err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

func (l *Limiter) run(ctx context.Context, s *redis.Script, op string, now time.Time, buckets []Bucket) (time.Duration, error) {
	keys, args := scriptArgs(op, now, buckets)
	ms, err := s.Run(ctx, l.rdb, keys, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("token buckets (%s): %w", op, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// scriptArgs are the keys and arguments of a script for op on buckets.
func scriptArgs(op string, now time.Time, buckets []Bucket) ([]string, []any) {
	keys := make([]string, len(buckets))
	args := []any{strconv.FormatInt(now.UnixMilli(), 10), op}
	for i, b := range buckets {
		keys[i] = b.Key
		args = append(args, b.Burst, max(b.Per.Milliseconds(), 1))
	}
	return keys, args
}
