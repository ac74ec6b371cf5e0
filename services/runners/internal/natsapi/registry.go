package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// Registry shows the runner registry to the jobs domain (job.Deps.Runners).
func Registry(svc *runner.Service) job.Runners { return registry{svc: svc} }

type registry struct{ svc *runner.Service }

func (r registry) RunnersOf(ctx context.Context, environment string) ([]job.RunnerStatus, error) {
	vs, err := r.svc.RunnersOf(ctx, environment)
	if err != nil {
		return nil, err
	}
	out := make([]job.RunnerStatus, len(vs))
	for i, v := range vs {
		out[i] = job.RunnerStatus{Runner: jobRunner(v.Runner), Status: v.Status}
	}
	return out, nil
}

func (r registry) RunnerByID(ctx context.Context, id string) (job.Runner, error) {
	v, err := r.svc.RunnerByID(ctx, id)
	if err != nil {
		return job.Runner{}, err
	}
	return jobRunner(v), nil
}

// authenticated is the runner that sent req, as the registry authenticated
// it (refusals throttled and audited there), shown to the jobs domain.
func authenticated(ctx context.Context, svc *runner.Service, req contract.AgentRequest) (job.Runner, error) {
	v, err := svc.AuthenticateRunner(ctx, presented(req))
	if err != nil {
		return job.Runner{}, err
	}
	return jobRunner(v), nil
}

func jobRunner(r runner.Runner) job.Runner {
	return job.Runner{ID: r.ID, Name: r.Name, Environment: r.Environment, Labels: r.Labels}
}
