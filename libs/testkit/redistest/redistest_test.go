package redistest_test

import (
	"context"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/redis/go-redis/v9"
)

func TestEachServerIsPrivate(t *testing.T) {
	ctx := context.Background()
	a, b := redistest.Client(t), redistest.Client(t)
	if err := a.Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatalf("set on the first server: %v", err)
	}
	if err := b.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("the second server sees the first one's key: %v", err)
	}
}

func TestServerIsStoppedWhenTheTestEnds(t *testing.T) {
	var url string
	t.Run("serving", func(t *testing.T) {
		url = redistest.New(t)
	})
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.MaxRetries = -1
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatalf("redis-server at %s still answers after its test ended", url)
	}
}

func TestMissingProgramFailsTheTestClearly(t *testing.T) {
	t.Setenv(redistest.EnvServer, "no-such-redis-server")
	// Run in a subtest expected to fail would fail the parent; check the
	// message through a recorder instead.
	rec := &recorder{TB: t}
	rec.run(func() { redistest.New(rec) })
	if !rec.failed || !contains(rec.msg, "no-such-redis-server", "apt-get install redis-server", redistest.EnvServer) {
		t.Fatalf("failure = %v %q", rec.failed, rec.msg)
	}
}
