package runner

import (
	"context"
	"sync"
	"time"
)

// PresenceTTL is how long an instance reuses a presence it read. A presence
// is heartbeat data, up to a heartbeat interval old by nature, and a
// runner's status is derived from its time when it is shown, so a second
// more changes nothing a user can see; it spares the store a read for every
// view of a runner (the console's lists, the API's reads).
const PresenceTTL = time.Second

// CachedPresences keeps the presences this instance read or wrote for ttl;
// heartbeats it handles and forgets go to the store and to the cache at once.
// Another instance's heartbeat shows here within ttl.
func CachedPresences(store Presences, ttl time.Duration) Presences {
	return &cachedPresences{store: store, ttl: ttl, now: time.Now, m: map[string]cachedPresence{}}
}

type cachedPresences struct {
	store Presences
	ttl   time.Duration
	now   func() time.Time

	mu sync.Mutex
	m  map[string]cachedPresence
}

type cachedPresence struct {
	p     Presence
	known bool // false: the store has none (never connected)
	until time.Time
}

// maxCachedPresences bounds the cache; past it, expired entries go, and all
// if that is not enough.
const maxCachedPresences = 200_000

func (c *cachedPresences) Record(ctx context.Context, id string, p Presence) error {
	if err := c.store.Record(ctx, id, p); err != nil {
		c.drop(id)
		return err
	}
	c.put(map[string]cachedPresence{id: {p: p, known: true}})
	return nil
}

func (c *cachedPresences) Forget(ctx context.Context, id string) error {
	err := c.store.Forget(ctx, id)
	c.drop(id)
	return err
}

func (c *cachedPresences) Presences(ctx context.Context, ids []string) (map[string]Presence, error) {
	out := make(map[string]Presence, len(ids))
	var missing []string
	now := c.now()
	c.mu.Lock()
	for _, id := range ids {
		e, ok := c.m[id]
		switch {
		case !ok || !now.Before(e.until):
			missing = append(missing, id)
		case e.known:
			out[id] = e.p
		}
	}
	c.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	read, err := c.store.Presences(ctx, missing)
	if err != nil {
		return nil, err
	}
	fresh := make(map[string]cachedPresence, len(missing))
	for _, id := range missing {
		p, known := read[id]
		fresh[id] = cachedPresence{p: p, known: known}
		if known {
			out[id] = p
		}
	}
	c.put(fresh)
	return out, nil
}

func (c *cachedPresences) TakeDirty(ctx context.Context, max int) ([]string, error) {
	return c.store.TakeDirty(ctx, max)
}

func (c *cachedPresences) MarkDirty(ctx context.Context, ids []string) error {
	return c.store.MarkDirty(ctx, ids)
}

func (c *cachedPresences) put(entries map[string]cachedPresence) {
	until := c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m)+len(entries) > maxCachedPresences {
		now := c.now()
		for id, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, id)
			}
		}
		if len(c.m)+len(entries) > maxCachedPresences {
			clear(c.m)
		}
	}
	for id, e := range entries {
		e.until = until
		c.m[id] = e
	}
}

func (c *cachedPresences) drop(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, id)
}
