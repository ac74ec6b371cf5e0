package runner

import (
	"context"
	"strings"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// FlushInterval is how often presence goes from Redis to PostgreSQL, and
// FlushBatch how many runners one statement writes at most.
const (
	FlushInterval = 3 * time.Second
	FlushBatch    = 1000
)

// Reply is what the registry answers a heartbeat.
type Reply struct {
	RunnerID   string // the authenticated runner, as PostgreSQL writes its id
	Interval   time.Duration
	ServerTime time.Time
}

// Heartbeat authenticates a runner and records what it reports in Redis; no
// PostgreSQL round trip once its credential is cached. The flusher writes it
// to PostgreSQL with the other runners' heartbeats. The running jobs it names
// are the caller's to pass on (the registry knows nothing of jobs). An agent
// whose version the skew policy refuses gets upgrade_required, and nothing
// of its heartbeat is recorded.
func (s *Service) Heartbeat(ctx context.Context, p Presented, hb Presence) (Reply, error) {
	c, err := s.authenticate(ctx, p)
	if err != nil {
		return Reply{}, err
	}
	if err := validateHeartbeat(hb); err != nil {
		return Reply{}, err
	}
	if err := s.CheckAgentVersion(ctx, c.Runner.ID, hb.Version); err != nil {
		return Reply{}, err
	}
	now := s.now()
	hb.LastSeen, hb.Address, hb.UserAgent = now, clip(caller.From(ctx).SourceIP, 64), clip(p.UserAgent, MaxUserAgentLen)
	if err := s.Presences.Record(ctx, c.Runner.ID, hb); err != nil {
		return Reply{}, errs.Wrap(errs.Unavailable, "the Hub cannot record heartbeats for a moment; try again shortly", err)
	}
	return Reply{RunnerID: c.Runner.ID, Interval: s.Interval, ServerTime: now}, nil
}

// CheckAgentVersion holds the version of runner id's agent to the skew
// policy (runners.AgentVersionRefusal): upgrade_required, naming the version
// to install, when the policy refuses it.
func (s *Service) CheckAgentVersion(ctx context.Context, id, version string) error {
	why := runners.AgentVersionRefusal(s.HubVersion, version)
	if why == "" {
		return nil
	}
	s.Log.WarnContext(ctx, "refused an agent of another version", "runner_id", id,
		"agent_version", version, "hub_version", s.HubVersion, "reason", why)
	return errs.E(errs.UpgradeRequired, why)
}

// CheckClaimingAgent holds a claiming agent to the skew policy by the
// version in its User-Agent (exekra-runner/<version>), so that an agent the
// Hub refuses gets no new job either; jobs it already holds run to their
// end. Other clients (no exekra-runner User-Agent) are not held to it.
func (s *Service) CheckClaimingAgent(ctx context.Context, id, userAgent string) error {
	version, ok := strings.CutPrefix(userAgent, runners.UserAgentPrefix)
	if !ok {
		return nil
	}
	return s.CheckAgentVersion(ctx, id, version)
}

// Flush writes the presence of every runner heard from since the last flush
// to PostgreSQL, FlushBatch runners per statement, and returns how many. On
// a failed write the runners are marked again for the next flush.
func (s *Service) Flush(ctx context.Context) (int, error) {
	total := 0
	for {
		ids, err := s.Presences.TakeDirty(ctx, FlushBatch)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		seen, err := s.Presences.Presences(ctx, ids)
		if err == nil && len(seen) > 0 {
			err = s.Store.RecordPresence(ctx, seen)
		}
		if err != nil {
			if merr := s.Presences.MarkDirty(context.WithoutCancel(ctx), ids); merr != nil {
				s.Log.WarnContext(ctx, "mark presence for the next flush", "runners", len(ids), "err", merr)
			}
			return total, err
		}
		total += len(seen)
		if len(ids) < FlushBatch {
			return total, nil
		}
	}
}

// RunFlusher flushes every interval until ctx ends, then once more.
func (s *Service) RunFlusher(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			s.flushLogged(fctx)
			return
		case <-tick.C:
			s.flushLogged(ctx)
		}
	}
}

func (s *Service) flushLogged(ctx context.Context) {
	n, err := s.Flush(ctx)
	if err != nil && ctx.Err() == nil {
		s.Log.WarnContext(ctx, "flush presence to PostgreSQL", "written", n, "err", err)
	} else if n > 0 {
		s.Log.DebugContext(ctx, "presence flushed", "runners", n)
	}
}
