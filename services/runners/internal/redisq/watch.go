package redisq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// watchBlock is how long one XREAD blocks before it is issued again (so a
// stopping instance is not held up for longer).
const watchBlock = time.Second

// Watch calls wake with an environment whenever an entry is added to its
// stream, until ctx ends: one blocking XREAD over every environment's
// stream, on one connection, for all the claims this instance serves.
func (q *Queue) Watch(ctx context.Context, wake func(environment string, added int)) error {
	last, err := q.lastIDs(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		streams := make([]string, 0, 2*len(q.environments))
		for _, env := range q.environments {
			streams = append(streams, StreamKey(env))
		}
		for _, env := range q.environments {
			streams = append(streams, last[env])
		}
		res, err := q.rdb.XRead(ctx, &redis.XReadArgs{Streams: streams, Count: 1000, Block: watchBlock}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("watch job queues: %w", err)
		}
		for _, s := range res {
			env := s.Stream[len(StreamKey("")):]
			if len(s.Messages) > 0 {
				last[env] = s.Messages[len(s.Messages)-1].ID
				wake(env, len(s.Messages))
			}
		}
	}
	return nil
}

// lastIDs is the id of each stream's newest entry ("0-0" when it has none),
// so that the watch misses nothing added from now on.
func (q *Queue) lastIDs(ctx context.Context) (map[string]string, error) {
	last := make(map[string]string, len(q.environments))
	for _, env := range q.environments {
		msgs, err := q.rdb.XRevRangeN(ctx, StreamKey(env), "+", "-", 1).Result()
		if err != nil {
			return nil, fmt.Errorf("read job queue %s: %w", env, err)
		}
		last[env] = "0-0"
		if len(msgs) > 0 {
			last[env] = msgs[0].ID
		}
	}
	return last, nil
}
