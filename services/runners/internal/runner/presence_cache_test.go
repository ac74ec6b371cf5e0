package runner

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// storePresences is a Presences store in memory that counts its reads.
type storePresences struct {
	mu    sync.Mutex
	m     map[string]Presence
	reads [][]string
	fail  error
}

func (s *storePresences) Record(_ context.Context, id string, p Presence) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.m[id] = p
	return nil
}

func (s *storePresences) Presences(_ context.Context, ids []string) (map[string]Presence, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads = append(s.reads, slices.Clone(ids))
	if s.fail != nil {
		return nil, s.fail
	}
	out := map[string]Presence{}
	for _, id := range ids {
		if p, ok := s.m[id]; ok {
			out[id] = p
		}
	}
	return out, nil
}

func (s *storePresences) Forget(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
	return nil
}

func (s *storePresences) TakeDirty(context.Context, int) ([]string, error) { return nil, nil }
func (s *storePresences) MarkDirty(context.Context, []string) error        { return nil }

func TestCachedPresences(t *testing.T) {
	ctx := context.Background()
	store := &storePresences{m: map[string]Presence{"a": {Hostname: "a1"}}}
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	c := CachedPresences(store, time.Second).(*cachedPresences)
	c.now = func() time.Time { return clock }
	read := func(t *testing.T, ids ...string) map[string]Presence {
		t.Helper()
		got, err := c.Presences(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	storeReads := func() [][]string {
		store.mu.Lock()
		defer store.mu.Unlock()
		return slices.Clone(store.reads)
	}

	t.Run("a read is reused within the TTL, absent ones too", func(t *testing.T) {
		if got := read(t, "a", "b"); got["a"].Hostname != "a1" || len(got) != 1 {
			t.Fatalf("first read = %v", got)
		}
		clock = clock.Add(999 * time.Millisecond)
		if got := read(t, "a", "b"); got["a"].Hostname != "a1" || len(got) != 1 {
			t.Fatalf("second read = %v", got)
		}
		if n := len(storeReads()); n != 1 {
			t.Fatalf("the store was read %d times within the TTL, want 1", n)
		}
	})
	t.Run("past the TTL the store is read again, only for what expired", func(t *testing.T) {
		store.Record(ctx, "a", Presence{Hostname: "a2"}) // another instance's heartbeat
		clock = clock.Add(time.Millisecond)
		read(t, "c") // cached from now on
		clock = clock.Add(500 * time.Millisecond)
		if got := read(t, "a", "c"); got["a"].Hostname != "a2" {
			t.Fatalf("after the TTL a = %+v, want the store's", got["a"])
		}
		if last := storeReads()[len(storeReads())-1]; !slices.Equal(last, []string{"a"}) {
			t.Fatalf("the store was asked for %v, want only the expired [a]", last)
		}
	})
	t.Run("a heartbeat of this instance shows at once", func(t *testing.T) {
		if err := c.Record(ctx, "a", Presence{Hostname: "a3"}); err != nil {
			t.Fatal(err)
		}
		before := len(storeReads())
		if got := read(t, "a"); got["a"].Hostname != "a3" || len(storeReads()) != before {
			t.Fatalf("after Record: %+v, %d store reads", got["a"], len(storeReads())-before)
		}
	})
	t.Run("a failed write is not remembered", func(t *testing.T) {
		store.fail = errors.New("redis down")
		if err := c.Record(ctx, "a", Presence{Hostname: "a4"}); err == nil {
			t.Fatal("no error")
		}
		store.fail = nil
		if got := read(t, "a"); got["a"].Hostname != "a3" {
			t.Fatalf("after a failed Record: %+v, want the store's a3", got["a"])
		}
	})
	t.Run("forgotten at once", func(t *testing.T) {
		if err := c.Forget(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if got := read(t, "a"); len(got) != 0 {
			t.Fatalf("after Forget: %v", got)
		}
	})
	t.Run("a failed read is an error, not an empty answer", func(t *testing.T) {
		clock = clock.Add(time.Hour)
		store.fail = errors.New("redis down")
		defer func() { store.fail = nil }()
		if _, err := c.Presences(ctx, []string{"a"}); err == nil {
			t.Fatal("no error")
		}
	})
}
