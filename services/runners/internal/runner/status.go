package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// DeriveStatus is a runner's status at now: online when its last heartbeat
// is at most OnlineIntervals intervals old, busy when online with a running
// job, offline when older, never_connected without any heartbeat. A
// heartbeat stamped after now (another instance's clock ahead) is online.
func DeriveStatus(now time.Time, interval time.Duration, p *Presence) string {
	switch {
	case p == nil:
		return runners.StatusNeverConnected
	case now.Sub(p.LastSeen) > OnlineIntervals*interval:
		return runners.StatusOffline
	case len(p.RunningJobIDs) > 0:
		return runners.StatusBusy
	}
	return runners.StatusOnline
}

// latest is the newer of what Redis (live) and PostgreSQL (seen) hold.
func latest(live *Presence, seen *Presence) *Presence {
	if live != nil && (seen == nil || !live.LastSeen.Before(seen.LastSeen)) {
		return live
	}
	return seen
}

// view is r with the freshest presence and its status now.
func (s *Service) view(r Runner, live *Presence) View {
	p := latest(live, r.Seen)
	return View{Runner: r, Presence: p, Status: DeriveStatus(s.now(), s.Interval, p)}
}

// views reads the live presence of rs in one round trip and derives their views.
func (s *Service) views(ctx context.Context, rs []Runner) ([]View, error) {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	live, err := s.Presences.Presences(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read presence: %w", err)
	}
	out := make([]View, len(rs))
	for i, r := range rs {
		var p *Presence
		if lp, ok := live[r.ID]; ok {
			p = &lp
		}
		out[i] = s.view(r, p)
	}
	return out, nil
}

// UserCensus is Census for a signed-in user (the dashboard).
func (s *Service) UserCensus(ctx context.Context) (map[[2]string]int, error) {
	if err := requireUser(ctx); err != nil {
		return nil, err
	}
	return s.Census(ctx)
}

// Census counts runners by environment and status (every pair, zeros
// included), for the exekra_runners gauge.
func (s *Service) Census(ctx context.Context) (map[[2]string]int, error) {
	counts := map[[2]string]int{}
	for _, env := range runners.Environments {
		for _, st := range runners.Statuses {
			counts[[2]string{env, st}] = 0
		}
	}
	var after *Cursor
	for {
		rs, err := s.Store.ListRunners(ctx, "", after, censusPage)
		if err != nil {
			return nil, err
		}
		vs, err := s.views(ctx, rs)
		if err != nil {
			return nil, err
		}
		for _, v := range vs {
			counts[[2]string{v.Environment, v.Status}]++
		}
		if len(rs) < censusPage {
			return counts, nil
		}
		last := rs[len(rs)-1]
		after = &Cursor{Name: last.Name, ID: last.ID}
	}
}

const censusPage = 1000
