// Package history is the runners service's record of the past for the
// console: a runner's metrics by the minute, the runners online by
// environment by the minute, and the dashboard's figures read from
// PostgreSQL. Every table it keeps is bounded: it samples and prunes once a
// minute (RunSampler).
package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// Bounds of what is kept, and how often it is sampled.
const (
	MetricsKept    = runners.MetricsHistoryHours * time.Hour
	CountsKept     = runners.RunnerCountsHistoryHours * time.Hour
	SampleInterval = time.Minute
)

// Window is [From, To) in whole UTC hours.
type Window struct{ From, To time.Time }

// Store reads and writes the history in PostgreSQL.
type Store interface {
	RunnerExists(ctx context.Context, id string) (bool, error)
	// RunnerMetrics returns a runner's minutes at or after since, oldest first.
	RunnerMetrics(ctx context.Context, id string, since time.Time) ([]runners.MetricsPoint, error)
	// RecordRunnerCounts writes the runners online by environment at
	// minute, unless another instance already did (one writer per minute).
	RecordRunnerCounts(ctx context.Context, minute time.Time, online map[string]int) error
	// PruneHistory deletes metrics before metricsBefore and counts before
	// countsBefore, returning how many rows went.
	PruneHistory(ctx context.Context, metricsBefore, countsBefore time.Time) (int64, error)
	JobsFinished(ctx context.Context, w Window) ([]runners.JobsFinishedHour, error)
	RunnersOnline(ctx context.Context, w Window) ([]runners.RunnersOnlineHour, error)
	PickupLatency(ctx context.Context, w Window) ([]runners.PickupLatencyHour, error)
	PendingCounts(ctx context.Context) (map[string]int, error)
}

// Census counts runners by environment and status (runner.Service.Census).
type Census interface {
	Census(ctx context.Context) (map[[2]string]int, error)
}

// Service answers the history's questions and keeps it.
type Service struct {
	store  Store
	census Census
	log    *slog.Logger
	now    func() time.Time
}

// NewService makes a Service; now is time.Now unless a test controls the clock.
func NewService(store Store, census Census, log *slog.Logger, now func() time.Time) (*Service, error) {
	if store == nil || census == nil || log == nil {
		return nil, errors.New("history service: missing dependency")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, census: census, log: log, now: now}, nil
}

// requireOperator re-checks, behind the gateway, that a user of at least
// the OPERATOR role asks.
func requireOperator(ctx context.Context) error {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || !identity.RoleAtLeast(a.Role, identity.RoleOperator) {
		return errs.E(errs.PermissionDenied, "history needs a signed-in user with the OPERATOR role or higher")
	}
	return nil
}

// RunnerMetrics returns the last hours (0: MetricsHistoryHours) of a
// runner's metrics, oldest minute first.
func (s *Service) RunnerMetrics(ctx context.Context, id string, hours int) (runners.RunnerMetricsHistory, error) {
	if err := requireOperator(ctx); err != nil {
		return runners.RunnerMetricsHistory{}, err
	}
	if hours == 0 {
		hours = runners.MetricsHistoryHours
	}
	if hours < 1 || hours > runners.MetricsHistoryHours {
		return runners.RunnerMetricsHistory{}, errs.Ef(errs.InvalidArgument, "hours must be from 1 to %d", runners.MetricsHistoryHours)
	}
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return runners.RunnerMetricsHistory{}, errs.E(errs.NotFound, "no runner has this id")
	}
	ok, err := s.store.RunnerExists(ctx, id)
	if err != nil {
		return runners.RunnerMetricsHistory{}, fmt.Errorf("find runner %s: %w", id, err)
	}
	if !ok {
		return runners.RunnerMetricsHistory{}, errs.E(errs.NotFound, "no runner has this id")
	}
	since := s.now().UTC().Truncate(time.Minute).Add(-time.Duration(hours) * time.Hour)
	points, err := s.store.RunnerMetrics(ctx, id, since)
	if err != nil {
		return runners.RunnerMetricsHistory{}, fmt.Errorf("read metrics of runner %s: %w", id, err)
	}
	return runners.RunnerMetricsHistory{RunnerID: id, Hours: hours, Points: points}, nil
}

// Dashboard returns the dashboard's figures over the last hours (0:
// DefaultStatsHours), the current hour included.
func (s *Service) Dashboard(ctx context.Context, hours int) (runners.DashboardStats, error) {
	if err := requireOperator(ctx); err != nil {
		return runners.DashboardStats{}, err
	}
	if hours == 0 {
		hours = runners.DefaultStatsHours
	}
	if hours < 1 || hours > runners.RunnerCountsHistoryHours {
		return runners.DashboardStats{}, errs.Ef(errs.InvalidArgument, "hours must be from 1 to %d", runners.RunnerCountsHistoryHours)
	}
	to := s.now().UTC().Truncate(time.Hour).Add(time.Hour)
	w := Window{From: to.Add(-time.Duration(hours) * time.Hour), To: to}
	out := runners.DashboardStats{Hours: hours, From: w.From, To: w.To}
	var err error
	if out.JobsFinished, err = s.store.JobsFinished(ctx, w); err != nil {
		return runners.DashboardStats{}, fmt.Errorf("count finished jobs: %w", err)
	}
	if out.RunnersOnline, err = s.store.RunnersOnline(ctx, w); err != nil {
		return runners.DashboardStats{}, fmt.Errorf("read runners online: %w", err)
	}
	if out.PickupLatency, err = s.store.PickupLatency(ctx, w); err != nil {
		return runners.DashboardStats{}, fmt.Errorf("read pickup latency: %w", err)
	}
	pending, err := s.store.PendingCounts(ctx)
	if err != nil {
		return runners.DashboardStats{}, fmt.Errorf("count waiting jobs: %w", err)
	}
	for _, env := range runners.Environments {
		out.JobsWaiting = append(out.JobsWaiting, runners.JobsWaiting{Environment: env, Jobs: pending[env]})
	}
	return out, nil
}

// Sample records the runners online (idle or busy) by environment for the
// current minute, unless another instance did, and prunes what is past its bound.
func (s *Service) Sample(ctx context.Context) error {
	counts, err := s.census.Census(ctx)
	if err != nil {
		return fmt.Errorf("count runners: %w", err)
	}
	online := map[string]int{}
	for _, env := range runners.Environments {
		online[env] = counts[[2]string{env, runners.StatusOnline}] + counts[[2]string{env, runners.StatusBusy}]
	}
	now := s.now().UTC()
	if err := s.store.RecordRunnerCounts(ctx, now.Truncate(time.Minute), online); err != nil {
		return fmt.Errorf("record runner counts: %w", err)
	}
	if _, err := s.store.PruneHistory(ctx, now.Add(-MetricsKept), now.Add(-CountsKept)); err != nil {
		return fmt.Errorf("prune history: %w", err)
	}
	return nil
}

// RunSampler samples now and every SampleInterval until ctx ends.
func (s *Service) RunSampler(ctx context.Context) {
	tick := time.NewTicker(SampleInterval)
	defer tick.Stop()
	for {
		if err := s.Sample(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "sample runner history", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
