// Package natsapi serves the runners service's NATS contract: it turns
// contract messages into calls of the runner, job and packages domains and
// their results back, composes them where one request concerns two (a
// heartbeat: the registry, then the jobs; a runner's job request: the
// registry authenticates, the jobs act), shows the registry to the jobs
// domain (Registry), and asks the licensing service what the license allows.
// The domains do not know one another.
package natsapi

import (
	"context"
	"time"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/job"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// Endpoints lists the registry's operations; a heartbeat also reaches jobs.
func Endpoints(svc *runner.Service, jobs *job.Service) []natsrpc.Endpoint {
	return append(registryEndpoints(svc), agentEndpoints(svc, jobs)...)
}

// registryEndpoints are the admin side (roles checked by the domain).
func registryEndpoints(svc *runner.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectCount, func(ctx context.Context, _ contract.CountRequest) (contract.Count, error) {
			n, err := svc.Count(ctx)
			return contract.Count{Runners: n}, err
		}),
		natsrpc.Handle(contract.SubjectCensus, func(ctx context.Context, _ contract.CensusRequest) (contract.Census, error) {
			counts, err := svc.UserCensus(ctx)
			out := contract.Census{Rows: []contract.CensusRow{}}
			for _, env := range contract.Environments {
				for _, st := range contract.Statuses {
					out.Rows = append(out.Rows, contract.CensusRow{Environment: env, Status: st, Runners: counts[[2]string{env, st}]})
				}
			}
			return out, err
		}),
		natsrpc.Handle(contract.SubjectRegister, func(ctx context.Context, req contract.RegisterRequest) (contract.Registered, error) {
			v, secret, err := svc.Register(ctx, runner.NewRunner{Name: req.Name, Environment: req.Environment, Labels: req.Labels})
			if err != nil {
				return contract.Registered{}, err
			}
			return contract.Registered{Runner: ToRunner(v), MachineSecret: secret}, nil
		}),
		natsrpc.Handle(contract.SubjectList, func(ctx context.Context, req contract.ListRequest) (contract.ListResponse, error) {
			page, err := svc.List(ctx, runner.Query{Limit: req.Limit, Cursor: req.Cursor, Environment: req.Environment, Status: req.Status})
			if err != nil {
				return contract.ListResponse{}, err
			}
			items := make([]contract.Runner, 0, len(page.Runners))
			for _, v := range page.Runners {
				items = append(items, ToRunner(v))
			}
			return contract.ListResponse{Items: items, NextCursor: page.NextCursor}, nil
		}),
		natsrpc.Handle(contract.SubjectGet, func(ctx context.Context, req contract.GetRequest) (contract.Runner, error) {
			v, err := svc.Get(ctx, req.ID)
			return ToRunner(v), err
		}),
		natsrpc.Handle(contract.SubjectDelete, func(ctx context.Context, req contract.DeleteRequest) (contract.DeleteResponse, error) {
			return contract.DeleteResponse{}, svc.Delete(ctx, req.ID)
		}),
		natsrpc.Handle(contract.SubjectRegenerateSecret, func(ctx context.Context, req contract.RegenerateSecretRequest) (contract.MachineSecret, error) {
			secret, err := svc.RegenerateSecret(ctx, req.ID)
			return contract.MachineSecret{MachineSecret: secret}, err
		}),
	}
}

// agentEndpoints are the runner side.
func agentEndpoints(svc *runner.Service, jobs *job.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectHeartbeat, func(ctx context.Context, req contract.HeartbeatRequest) (contract.HeartbeatResponse, error) {
			return heartbeat(ctx, svc, jobs, req)
		}),
		natsrpc.Handle(contract.SubjectAuthenticate, func(ctx context.Context, req contract.AuthenticateRequest) (contract.Authenticated, error) {
			p := runner.Presented{RunnerID: req.RunnerID, SecretSHA256: req.SecretSHA256, Protocol: req.Protocol}
			v, err := svc.Authenticate(ctx, p)
			if err != nil {
				return contract.Authenticated{}, err
			}
			return contract.Authenticated{Runner: ToRunner(v)}, nil
		}),
	}
}

// heartbeat has the registry authenticate the runner and record its
// presence, then the jobs renew the leases of the jobs it runs (the claimed
// ones become running); the reply names those of them to stop.
func heartbeat(ctx context.Context, svc *runner.Service, jobs *job.Service, req contract.HeartbeatRequest) (contract.HeartbeatResponse, error) {
	p := runner.Presented{RunnerID: req.RunnerID, SecretSHA256: req.SecretSHA256, Protocol: req.Protocol, UserAgent: req.UserAgent}
	reply, err := svc.Heartbeat(ctx, p, toPresence(req.Heartbeat))
	if err != nil {
		return contract.HeartbeatResponse{}, err
	}
	cancel, err := jobs.Heartbeat(ctx, reply.RunnerID, req.Heartbeat.RunningJobIDs)
	if err != nil {
		return contract.HeartbeatResponse{}, err
	}
	return contract.HeartbeatResponse{HeartbeatIntervalSeconds: int(reply.Interval / time.Second),
		ServerTime: reply.ServerTime, CancelJobIDs: cancel}, nil
}

func toPresence(hb contract.Heartbeat) runner.Presence {
	return runner.Presence{Version: hb.Version, Commit: hb.Commit, OS: hb.OS, Hostname: hb.Hostname, RunningJobIDs: hb.RunningJobIDs,
		Metrics: runner.Metrics{CPUPercent: hb.Metrics.CPUPercent, MemoryPercent: hb.Metrics.MemoryPercent, DiskFreeBytes: hb.Metrics.DiskFreeBytes}}
}

// ToRunner shows a runner as the contract does: never a secret or its hash.
func ToRunner(v runner.View) contract.Runner {
	out := contract.Runner{ID: v.ID, Name: v.Name, Environment: v.Environment, Labels: v.Labels, Status: v.Status,
		CreatedAt: v.CreatedAt.UTC()}
	if out.Labels == nil {
		out.Labels = []string{}
	}
	if p := v.Presence; p != nil {
		seen := p.LastSeen.UTC()
		out.LastSeenAt, out.ConnectedFrom, out.Version, out.Commit, out.OS, out.Hostname = &seen, p.Address, p.Version, p.Commit, p.OS, p.Hostname
		out.Metrics = contract.Metrics{CPUPercent: p.Metrics.CPUPercent, MemoryPercent: p.Metrics.MemoryPercent, DiskFreeBytes: p.Metrics.DiskFreeBytes}
	}
	return out
}
