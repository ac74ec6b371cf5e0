package redisstate

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/exekra/hub/libs/tokenbucket"
	"github.com/exekra/hub/services/runners/internal/runner"
)

const id = "8f0e1c4a-8b7b-4b65-9d64-0c5b7c2d9a10"

func entry(state runner.CacheState, version int64, hash byte) runner.CacheEntry {
	return runner.CacheEntry{State: state, Credential: runner.Credential{Version: version, SecretSHA256: bytes.Repeat([]byte{hash}, 32),
		Runner: runner.Runner{ID: id, Name: "r1", Environment: "Staging", Labels: []string{"a"}, CreatedAt: time.Unix(1e9, 0).UTC()}}}
}

// noLock is a failure bucket no test takes from.
var noLock = runner.Bucket{Key: "exekra:test:nolock", Burst: 1, Per: time.Second}

func TestCachePutOrder(t *testing.T) {
	c := NewCache(redistest.Client(t))
	ctx := t.Context()
	steps := []struct {
		name    string
		put     runner.CacheEntry
		state   runner.CacheState
		version int64
		hash    byte
	}{
		{"an empty cache takes a fill", entry(runner.CacheValid, 1, 1), runner.CacheValid, 1, 1},
		{"a change marks the next version pending", entry(runner.CachePending, 2, 0), runner.CachePending, 2, 0},
		{"a fill of the old version is refused", entry(runner.CacheValid, 1, 1), runner.CachePending, 2, 0},
		{"the committed change of that version completes it", entry(runner.CacheValid, 2, 2), runner.CacheValid, 2, 2},
		{"a late pending mark of that version is refused", entry(runner.CachePending, 2, 0), runner.CacheValid, 2, 2},
		{"a deletion one version up wins", entry(runner.CacheDeleted, 3, 0), runner.CacheDeleted, 3, 0},
		{"a fill from before the deletion is refused", entry(runner.CacheValid, 2, 2), runner.CacheDeleted, 3, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if err := c.Put(ctx, s.put); err != nil {
				t.Fatal(err)
			}
			got, _, err := c.Lookup(ctx, id, time.Now(), noLock)
			if err != nil || got.State != s.state || got.Credential.Version != s.version {
				t.Fatalf("entry %s v%d, %v; want %s v%d", got.State, got.Credential.Version, err, s.state, s.version)
			}
			if s.state == runner.CacheValid && got.Credential.SecretSHA256[0] != s.hash {
				t.Fatalf("hash %x", got.Credential.SecretSHA256)
			}
		})
	}
	t.Run("a valid entry keeps the registry record", func(t *testing.T) {
		c.Put(ctx, entry(runner.CacheValid, 9, 9))
		got, _, _ := c.Lookup(ctx, id, time.Now(), noLock)
		r := got.Credential.Runner
		if r.Name != "r1" || r.Environment != "Staging" || !slices.Equal(r.Labels, []string{"a"}) || !r.CreatedAt.Equal(time.Unix(1e9, 0)) {
			t.Fatalf("runner %+v", r)
		}
	})
	t.Run("an unknown runner is missing", func(t *testing.T) {
		if got, _, err := c.Lookup(ctx, "00000000-0000-4000-8000-000000000000", time.Now(), noLock); err != nil || got.State != runner.CacheMissing {
			t.Fatalf("%v, %v", got.State, err)
		}
	})
}

func TestLookupReadsTheLock(t *testing.T) {
	rdb := redistest.Client(t)
	c := NewCache(rdb)
	ctx := t.Context()
	c.Put(ctx, entry(runner.CacheValid, 1, 1))
	now := time.Now()
	lock := runner.Bucket{Key: "exekra:test:lock", Burst: 2, Per: 10 * time.Second}
	for i, want := range []time.Duration{0, 0, 10 * time.Second} {
		got, wait, err := c.Lookup(ctx, id, now, lock)
		if err != nil || got.State != runner.CacheValid || wait != want {
			t.Fatalf("look %d: %s, wait %s, %v; want valid, wait %s", i+1, got.State, wait, err, want)
		}
		if _, err := tokenbucket.New(rdb).Take(ctx, now, []runner.Bucket{lock}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPresences(t *testing.T) {
	p := NewPresences(redistest.Client(t))
	ctx := t.Context()
	t0 := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	ids := []string{"a", "b", "c"}
	for _, id := range ids {
		if err := p.Record(ctx, id, runner.Presence{LastSeen: t0, Hostname: "h-" + id, RunningJobIDs: []string{"j"}}); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("presence reads back, absent ones left out", func(t *testing.T) {
		got, err := p.Presences(ctx, []string{"a", "x"})
		if err != nil || len(got) != 1 || got["a"].Hostname != "h-a" || !got["a"].LastSeen.Equal(t0) || got["a"].RunningJobIDs[0] != "j" {
			t.Fatalf("%+v, %v", got, err)
		}
	})
	t.Run("dirty ids are taken once", func(t *testing.T) {
		first, _ := p.TakeDirty(ctx, 2)
		rest, _ := p.TakeDirty(ctx, 2)
		none, _ := p.TakeDirty(ctx, 2)
		all := slices.Sorted(slices.Values(append(first, rest...)))
		if len(first) != 2 || !slices.Equal(all, ids) || len(none) != 0 {
			t.Fatalf("%v %v %v", first, rest, none)
		}
	})
	t.Run("marked again they come back; forgotten they do not", func(t *testing.T) {
		p.MarkDirty(ctx, []string{"a", "b"})
		p.Forget(ctx, "b")
		got, _ := p.TakeDirty(ctx, 10)
		if !slices.Equal(got, []string{"a"}) {
			t.Fatalf("%v", got)
		}
		if left, _ := p.Presences(ctx, []string{"b"}); len(left) != 0 {
			t.Fatal("forgotten presence still there")
		}
	})
}
