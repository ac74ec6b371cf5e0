package runner

import "context"

// RunnersOf lists every runner of environment with its status, for the
// service's other parts (why a job waits); no role is checked.
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

// RunnerByID returns a registered runner, for the service's other parts (a
// job's target); no role is checked.
func (s *Service) RunnerByID(ctx context.Context, id string) (Runner, error) {
	if err := checkID(id); err != nil {
		return Runner{}, err
	}
	return s.Store.RunnerByID(ctx, id)
}
