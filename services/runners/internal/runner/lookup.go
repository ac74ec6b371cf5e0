package runner

import "context"

// JobTracker is what a heartbeat tells the jobs domain: the runner's running
// jobs keep their leases (and the claimed ones become running); the reply
// lists those of them to stop.
type JobTracker interface {
	Heartbeat(ctx context.Context, runnerID string, running []string) (cancel []string, err error)
}

// trackJobs passes a heartbeat's running jobs to the tracker, if there is one
// and the runner named any (an idle runner's heartbeat stays off PostgreSQL).
func (s *Service) trackJobs(ctx context.Context, runnerID string, running []string) ([]string, error) {
	if s.Jobs == nil || len(running) == 0 {
		return []string{}, nil
	}
	cancel, err := s.Jobs.Heartbeat(ctx, runnerID, running)
	if cancel == nil {
		cancel = []string{}
	}
	return cancel, err
}

// RunnersOf lists every runner of environment with its status, for the
// jobs domain (why a job waits); no role is checked.
func (s *Service) RunnersOf(ctx context.Context, environment string) ([]View, error) {
	var out []View
	var after *Cursor
	for {
		rs, err := s.Store.ListRunners(ctx, environment, after, censusPage)
		if err != nil {
			return nil, err
		}
		vs, err := s.views(ctx, rs)
		if err != nil {
			return nil, err
		}
		out = append(out, vs...)
		if len(rs) < censusPage {
			return out, nil
		}
		after = &Cursor{Name: rs[len(rs)-1].Name, ID: rs[len(rs)-1].ID}
	}
}

// RunnerByID returns a registered runner, for the jobs domain (a job's
// target); no role is checked.
func (s *Service) RunnerByID(ctx context.Context, id string) (Runner, error) {
	if err := checkID(id); err != nil {
		return Runner{}, err
	}
	return s.Store.RunnerByID(ctx, id)
}
