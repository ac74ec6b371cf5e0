package runner

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// Get returns one runner with its status (any signed-in role).
func (s *Service) Get(ctx context.Context, id string) (View, error) {
	if err := firstError(requireUser(ctx), checkID(id)); err != nil {
		return View{}, err
	}
	if v, ok := s.cachedView(ctx, id); ok {
		return v, nil
	}
	r, err := s.Store.RunnerByID(ctx, id)
	if err != nil {
		return View{}, err
	}
	vs, err := s.views(ctx, []Runner{r})
	if err != nil {
		return View{}, err
	}
	return vs[0], nil
}

// cachedView is a runner's view read without PostgreSQL: its registry
// record from a valid credential cache entry and its live presence. A
// runner's record (name, environment, labels, creation) changes only with
// its credential version — registration, secret rotation, deletion — which
// the cache follows (a change marks the entry pending until it committed), so
// a valid entry holds what PostgreSQL does; and a live presence is never
// older than the one PostgreSQL was last given. Without both, false: the
// caller reads PostgreSQL.
func (s *Service) cachedView(ctx context.Context, id string) (View, bool) {
	e, _, err := s.Cache.Lookup(ctx, id, s.now(), Bucket{})
	if err != nil || e.State != CacheValid {
		return View{}, false
	}
	live, err := s.Presences.Presences(ctx, []string{id})
	p, ok := live[id]
	if err != nil || !ok {
		return View{}, false
	}
	return s.view(e.Credential.Runner, &p), true
}

// Count is the number of registered runners (license usage; no role needed).
func (s *Service) Count(ctx context.Context) (int, error) { return s.Store.CountRunners(ctx) }

// Query selects a page of runners.
type Query struct {
	Limit       int // 0: DefaultPageSize
	Cursor      string
	Environment string // "" : every environment
	Status      string // "" : every status
}

// Page is one page of runners and the cursor of the next ("" after the last).
type Page struct {
	Runners    []View
	NextCursor string
}

// DefaultPageSize and MaxPageSize bound List.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// List pages through runners by name (any signed-in role). The status is
// derived from presence, so a status filter reads on until the page is full.
func (s *Service) List(ctx context.Context, q Query) (Page, error) {
	if err := requireUser(ctx); err != nil {
		return Page{}, err
	}
	after, err := checkQuery(&q)
	if err != nil {
		return Page{}, err
	}
	var out []View
	chunk := q.Limit + 1
	if q.Status != "" {
		chunk = max(chunk, 200)
	}
	for {
		rs, err := s.Store.ListRunners(ctx, q.Environment, after, chunk)
		if err != nil {
			return Page{}, err
		}
		vs, err := s.views(ctx, rs)
		if err != nil {
			return Page{}, err
		}
		for _, v := range vs {
			if len(out) <= q.Limit && (q.Status == "" || v.Status == q.Status) {
				out = append(out, v)
			}
		}
		if len(out) > q.Limit || len(rs) < chunk {
			break
		}
		after = &Cursor{Name: rs[len(rs)-1].Name, ID: rs[len(rs)-1].ID}
	}
	page := Page{Runners: out}
	if len(out) > q.Limit {
		page.Runners = out[:q.Limit]
		last := page.Runners[q.Limit-1]
		page.NextCursor = EncodeCursor(Cursor{Name: last.Name, ID: last.ID})
	}
	return page, nil
}

// checkQuery validates q, fills its default limit and decodes its cursor.
func checkQuery(q *Query) (*Cursor, error) {
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.Limit < 1 || q.Limit > MaxPageSize {
		return nil, errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d", MaxPageSize)
	}
	if q.Environment != "" && !slices.Contains(runners.Environments, q.Environment) {
		return nil, errs.Ef(errs.InvalidArgument, "environment must be one of %s", strings.Join(runners.Environments, ", "))
	}
	if q.Status != "" && !slices.Contains(runners.Statuses, q.Status) {
		return nil, errs.Ef(errs.InvalidArgument, "status must be one of %s", strings.Join(runners.Statuses, ", "))
	}
	return DecodeCursor(q.Cursor)
}

type cursorJSON struct {
	Name string `json:"n"`
	ID   string `json:"i"`
}

// EncodeCursor makes the opaque cursor string of c.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(cursorJSON(c))
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor reads a cursor made by EncodeCursor; "" is the start (nil).
func DecodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := errs.E(errs.InvalidArgument, "cursor is not one this service made")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursorJSON
	if err := json.Unmarshal(raw, &c); err != nil || checkID(c.ID) != nil {
		return nil, bad
	}
	return &Cursor{Name: c.Name, ID: c.ID}, nil
}
