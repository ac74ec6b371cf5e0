package redisstate

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/exekra/hub/services/runners/internal/runner"
	"github.com/redis/go-redis/v9"
)

// A bucket is one number, GCRA style (as the identity service's sign-in
// throttle keeps it): the time, in ms, at which the bucket is full again.
// A bucket whose time is not after now is full; taking a token moves its
// time one refill period later; a take is refused when that would put it
// more than burst periods after now, and the excess is the wait. The key
// expires when the bucket is full again. Arguments: now, burst, ms per
// token, and 1 to take or 0 only to look.
var bucketScript = redis.NewScript(`
local now, burst, per = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local nxt = tat + per
local wait = nxt - now - burst * per
if wait > 0 then return wait end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', string.format('%.0f', nxt - now + 1000))
end
return 0
`)

// Limiter implements runner.Limiter.
type Limiter struct{ rdb redis.UniversalClient }

var _ runner.Limiter = (*Limiter)(nil)

// NewLimiter returns token buckets on rdb.
func NewLimiter(rdb redis.UniversalClient) *Limiter { return &Limiter{rdb: rdb} }

// Take takes a token from b, or none and says how long until b has one.
func (l *Limiter) Take(ctx context.Context, now time.Time, b runner.Bucket) (time.Duration, error) {
	return l.run(ctx, now, b, "1")
}

// Wait says how long until b has a token, taking none.
func (l *Limiter) Wait(ctx context.Context, now time.Time, b runner.Bucket) (time.Duration, error) {
	return l.run(ctx, now, b, "0")
}

func (l *Limiter) run(ctx context.Context, now time.Time, b runner.Bucket, take string) (time.Duration, error) {
	args := []any{strconv.FormatInt(now.UnixMilli(), 10), b.Burst, max(b.Per.Milliseconds(), 1), take}
	ms, err := bucketScript.Run(ctx, l.rdb, []string{b.Key}, args...).Int64()
	if err != nil {
		return 0, fmt.Errorf("token bucket %s: %w", b.Key, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}
