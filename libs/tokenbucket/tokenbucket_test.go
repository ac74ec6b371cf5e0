package tokenbucket

import (
	"context"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/redis/go-redis/v9"
)

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func take(t *testing.T, l *Limiter, now time.Time, buckets ...Bucket) time.Duration {
	t.Helper()
	wait, err := l.Take(context.Background(), now, buckets)
	if err != nil {
		t.Fatal(err)
	}
	return wait
}

func TestTake(t *testing.T) {
	rdb := redistest.Client(t)
	l := New(rdb)
	account := Bucket{Key: "test:account", Burst: 3, Per: 30 * time.Second}
	address := Bucket{Key: "test:address", Burst: 5, Per: time.Second}

	t.Run("a full bucket gives its burst at once", func(t *testing.T) {
		for i := range 3 {
			if wait := take(t, l, t0, account); wait != 0 {
				t.Fatalf("take %d: wait %s", i+1, wait)
			}
		}
	})
	t.Run("an empty bucket says how long until the next token", func(t *testing.T) {
		if wait := take(t, l, t0.Add(10*time.Second), account); wait != 20*time.Second {
			t.Fatalf("wait %s, want 20s", wait)
		}
	})
	t.Run("the bucket refills with time", func(t *testing.T) {
		if wait := take(t, l, t0.Add(30*time.Second), account); wait != 0 {
			t.Fatalf("wait %s, want 0", wait)
		}
		if wait := take(t, l, t0.Add(31*time.Second), account); wait != 29*time.Second {
			t.Fatalf("wait %s, want 29s", wait)
		}
	})
	t.Run("when one bucket is empty none is taken from", func(t *testing.T) {
		if wait := take(t, l, t0.Add(31*time.Second), address, account); wait != 29*time.Second {
			t.Fatalf("wait %s, want 29s", wait)
		}
		for i := range 5 {
			if wait := take(t, l, t0.Add(31*time.Second), address); wait != 0 {
				t.Fatalf("address take %d: wait %s; the refused take cost a token", i+1, wait)
			}
		}
	})
	t.Run("a clock behind the last writer refills nothing", func(t *testing.T) {
		if wait := take(t, l, t0, address); wait <= 0 {
			t.Fatalf("wait %s, want > 0", wait)
		}
	})
	t.Run("a bucket expires once it would be full again", func(t *testing.T) {
		ttl := rdb.PTTL(context.Background(), account.Key).Val()
		if ttl <= 0 || ttl > 3*30*time.Second+time.Second {
			t.Fatalf("ttl %s", ttl)
		}
	})
}

func TestGive(t *testing.T) {
	l := New(redistest.Client(t))
	b := Bucket{Key: "test:give", Burst: 2, Per: time.Minute}
	ctx := context.Background()
	t.Run("a token given back can be taken again", func(t *testing.T) {
		take(t, l, t0, b)
		take(t, l, t0, b)
		if err := l.Give(ctx, t0, []Bucket{b}); err != nil {
			t.Fatal(err)
		}
		if wait := take(t, l, t0, b); wait != 0 {
			t.Fatalf("wait %s, want 0", wait)
		}
	})
	t.Run("giving never fills a bucket above its burst", func(t *testing.T) {
		for range 5 {
			if err := l.Give(ctx, t0, []Bucket{b}); err != nil {
				t.Fatal(err)
			}
		}
		take(t, l, t0, b)
		take(t, l, t0, b)
		if wait := take(t, l, t0, b); wait == 0 {
			t.Fatal("took a third token from a bucket of two")
		}
	})
}

func TestConcurrentTakesNeverExceedTheBurst(t *testing.T) {
	l := New(redistest.Client(t))
	b := Bucket{Key: "test:race", Burst: 5, Per: time.Hour}
	results := make(chan time.Duration, 50)
	for range 50 {
		go func() {
			wait, err := l.Take(context.Background(), t0, []Bucket{b})
			if err != nil {
				t.Error(err)
			}
			results <- wait
		}()
	}
	granted := 0
	for range 50 {
		if <-results == 0 {
			granted++
		}
	}
	if granted != 5 {
		t.Fatalf("%d of 50 concurrent takes granted, want 5", granted)
	}
}

func TestWaitTakesNothing(t *testing.T) {
	l := New(redistest.Client(t))
	b := Bucket{Key: "test:look", Burst: 1, Per: 10 * time.Second}
	for range 3 {
		if wait, err := l.Wait(context.Background(), t0, []Bucket{b}); err != nil || wait != 0 {
			t.Fatalf("looking at a full bucket: wait %s, %v", wait, err)
		}
	}
	if wait := take(t, l, t0, b); wait != 0 {
		t.Fatalf("the looks took the token: wait %s", wait)
	}
	if wait, _ := l.Wait(context.Background(), t0.Add(4*time.Second), []Bucket{b}); wait != 6*time.Second {
		t.Fatalf("looking at an empty bucket: wait %s, want 6s", wait)
	}
}

// roundTrips counts what a client sends to Redis, single commands and
// pipelines, leaving out a new connection's set-up (HELLO, CLIENT SETINFO).
type roundTrips struct{ n int }

func setUp(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !setUp(cmd) {
			r.n++
		}
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !setUp(cmds[0]) {
			r.n++
		}
		return next(ctx, cmds)
	}
}

func TestQueueWaitSharesTheRoundTrip(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	l := New(rdb)
	b := Bucket{Key: "test:queued", Burst: 1, Per: 10 * time.Second}
	if wait := take(t, l, t0, b); wait != 0 { // also loads the script
		t.Fatalf("first take: wait %s", wait)
	}
	rdb.Set(ctx, "test:other", "v", 0)
	trips := &roundTrips{}
	rdb.AddHook(trips)

	look := func(now time.Time) (time.Duration, string) {
		t.Helper()
		pipe := rdb.Pipeline()
		q := l.QueueWait(ctx, pipe, now, []Bucket{b})
		other := pipe.Get(ctx, "test:other")
		pipe.Exec(ctx) // each command's error is read from it
		wait, err := q.Result(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return wait, other.Val()
	}
	if wait, other := look(t0.Add(4 * time.Second)); wait != 6*time.Second || other != "v" {
		t.Fatalf("queued look at an empty bucket: wait %s, other %q; want 6s and v", wait, other)
	}
	if trips.n != 1 {
		t.Fatalf("the look and the other command took %d round trips, want 1", trips.n)
	}
	t.Run("a Redis that lost the script is asked again", func(t *testing.T) {
		if err := rdb.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if wait, other := look(t0.Add(5 * time.Second)); wait != 5*time.Second || other != "v" {
			t.Fatalf("after SCRIPT FLUSH: wait %s, other %q; want 5s and v", wait, other)
		}
	})
	if wait, _ := l.Wait(ctx, t0.Add(10*time.Second), []Bucket{b}); wait != 0 {
		t.Fatalf("the queued looks took a token: wait %s at refill time", wait)
	}
}
