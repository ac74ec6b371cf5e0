package asset

import (
	"context"
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// AgentRead hands runner r (authenticated by the caller) the values, for
// its scope, of every asset the package of job jobID declares, while it
// holds the job's current attempt (attempt; 0: whichever it is), claimed or
// running. Otherwise it is permission_denied, audited asset.read.denied. A
// declared asset without a value for the runner is asset_missing naming it
// and the scope. Each value handed out is audited asset.read.
func (s *Service) AgentRead(ctx context.Context, r Runner, jobID string, attempt int) (runners.AgentAssets, error) {
	items, outcome, err := s.agentRead(ctx, r, jobID, attempt)
	s.Meter.AssetRead(outcome)
	return items, err
}

func (s *Service) agentRead(ctx context.Context, r Runner, jobID string, attempt int) (runners.AgentAssets, string, error) {
	if attempt < 0 {
		return runners.AgentAssets{}, ReadDenied, errs.E(errs.InvalidArgument, "attempt must be 0 (the current one) or more")
	}
	if _, err := uuid.Parse(jobID); err != nil || len(jobID) != 36 {
		return runners.AgentAssets{}, ReadDenied, errs.E(errs.NotFound, "no job has this id")
	}
	jobID = strings.ToLower(jobID)
	held, ok, err := s.Store.HeldJob(ctx, r.ID, jobID, attempt)
	if err != nil {
		return runners.AgentAssets{}, ReadUnavailable, errs.Wrap(errs.Unavailable, "the Hub cannot look up the job for a moment; ask again shortly", err)
	}
	if !ok {
		ev := audit.Event{Action: runners.ActionAssetReadDenied, Outcome: audit.Failure,
			Reason: "the runner does not hold this attempt of the job", Actor: runnerActor(r),
			Target: audit.Target{Type: "job", ID: jobID}, Details: map[string]any{"job_id": jobID, "attempt": attempt, "runner_id": r.ID}}
		if err := s.Store.RecordEvents(ctx, ev); err != nil {
			s.Log.WarnContext(ctx, "record a refused asset read", "job_id", jobID, "runner_id", r.ID, "err", err)
		}
		return runners.AgentAssets{}, ReadDenied, errs.E(errs.PermissionDenied,
			"this runner does not hold this attempt of the job; it gets the assets of a job only while it runs it")
	}
	out := runners.AgentAssets{Items: []runners.AgentAsset{}}
	if len(held.Assets) == 0 {
		return out, ReadOK, nil
	}
	cands, err := s.Store.Candidates(ctx, held.Assets, r.Environment, r.ID)
	if err != nil {
		return runners.AgentAssets{}, ReadUnavailable, errs.Wrap(errs.Unavailable, "the Hub cannot read assets for a moment; ask again shortly", err)
	}
	byKey := make(map[string]Stored, len(cands))
	for _, a := range cands {
		byKey[strings.ToLower(a.Name)] = a
	}
	type pick struct {
		a Stored
		v StoredValue
	}
	picks := make([]pick, 0, len(held.Assets))
	for _, name := range held.Assets {
		a, ok := byKey[strings.ToLower(name)]
		if !ok {
			return runners.AgentAssets{}, ReadMissing, errs.Ef(errs.AssetMissing,
				"the package declares asset %s, which does not exist", name)
		}
		v, ok := mostSpecific(a.Values, r)
		if !ok {
			return runners.AgentAssets{}, ReadMissing, errs.Ef(errs.AssetMissing,
				"asset %s has no value for runner %s: no value of its own, none for environment %s and no global one",
				a.Name, r.Name, r.Environment)
		}
		picks = append(picks, pick{a: a, v: v})
	}
	k, err := s.keyring()
	if err != nil {
		return runners.AgentAssets{}, ReadUnavailable, err
	}
	evs := make([]audit.Event, 0, len(picks))
	for _, p := range picks {
		value, err := open(k, p.a, p.v)
		if err != nil {
			return runners.AgentAssets{}, ReadUnavailable, err
		}
		out.Items = append(out.Items, runners.AgentAsset{Name: p.a.Name, Type: p.a.Type, Scope: p.v.Scope, Value: value})
		evs = append(evs, audit.Event{Action: runners.ActionAssetRead, Actor: runnerActor(r),
			Target: audit.Target{Type: "asset", ID: p.a.ID},
			Details: map[string]any{"asset": p.a.Name, "job_id": jobID, "attempt": held.Attempt, "runner_id": r.ID,
				"scope": p.v.Scope, "version": p.v.Version}})
	}
	// No value leaves without its record.
	if err := s.Store.RecordEvents(ctx, evs...); err != nil {
		return runners.AgentAssets{}, ReadUnavailable, errs.Wrap(errs.Unavailable, "the Hub cannot record the read for a moment; ask again shortly", err)
	}
	return out, ReadOK, nil
}

// mostSpecific picks, of an asset's values, the one runner r gets: its
// own, else its environment's, else the global one.
func mostSpecific(vs []StoredValue, r Runner) (StoredValue, bool) {
	var env, global *StoredValue
	for i, v := range vs {
		switch {
		case v.Scope == runners.ScopeRunner && strings.EqualFold(v.ScopeKey, r.ID):
			return v, true
		case v.Scope == runners.ScopeEnvironment && v.ScopeKey == r.Environment:
			env = &vs[i]
		case v.Scope == runners.ScopeGlobal:
			global = &vs[i]
		}
	}
	switch {
	case env != nil:
		return *env, true
	case global != nil:
		return *global, true
	}
	return StoredValue{}, false
}

func runnerActor(r Runner) audit.Actor {
	return audit.Actor{Type: audit.ActorRunner, ID: r.ID, Name: r.Name}
}

// CheckAvailable refuses (asset_missing) to start a job of a package
// declaring names in environment, for targetRunnerID ("" : any runner of
// the environment), when one of them does not exist or has no value that
// could reach the job: no global value, none for the environment, and none
// for the target runner (for an untargeted job: none for any runner of the
// environment).
func (s *Service) CheckAvailable(ctx context.Context, names []string, environment, targetRunnerID string) error {
	if len(names) == 0 {
		return nil
	}
	av, err := s.Store.Availability(ctx, names, environment, strings.ToLower(targetRunnerID))
	if err != nil {
		return fmt.Errorf("check the assets of a new job: %w", err)
	}
	for _, name := range names {
		a := av[strings.ToLower(name)]
		switch {
		case a.Name == "":
			return errs.Ef(errs.AssetMissing, "the package declares asset %s, which does not exist; create it and set its value first", name)
		case !a.HasValue && targetRunnerID != "":
			return errs.Ef(errs.AssetMissing,
				"asset %s has no value for environment %s: set a global value, one for %s or one for the target runner", a.Name, environment, environment)
		case !a.HasValue:
			return errs.Ef(errs.AssetMissing,
				"asset %s has no value for environment %s: set a global value, one for %s or one for its runners", a.Name, environment, environment)
		}
	}
	return nil
}
