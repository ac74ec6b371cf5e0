package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/asset"
	"github.com/exekra/hub/services/runners/internal/runner"
)

// AssetEndpoints lists the assets operations: the user side (roles checked
// by the domain) and the runner's read of its job's values (the registry
// checks the runner's credentials, as for a heartbeat, before the assets act).
func AssetEndpoints(svc *asset.Service, runners *runner.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectAssetCreate, func(ctx context.Context, req contract.CreateAssetRequest) (contract.Asset, error) {
			return svc.Create(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectAssetGet, func(ctx context.Context, req contract.AssetRequest) (contract.Asset, error) {
			return svc.Get(ctx, req.Name)
		}),
		natsrpc.Handle(contract.SubjectAssetList, func(ctx context.Context, req contract.ListAssetsRequest) (contract.ListAssetsResponse, error) {
			return svc.List(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectAssetUpdate, func(ctx context.Context, req contract.UpdateAssetRequest) (contract.Asset, error) {
			return svc.Update(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectAssetDelete, func(ctx context.Context, req contract.AssetRequest) (contract.AssetDeleted, error) {
			return svc.Delete(ctx, req.Name)
		}),
		natsrpc.Handle(contract.SubjectAssetValueSet, func(ctx context.Context, req contract.SetAssetValueRequest) (contract.Asset, error) {
			return svc.SetValue(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectAssetValueDelete, func(ctx context.Context, req contract.AssetValueRequest) (contract.Asset, error) {
			return svc.DeleteValue(ctx, req)
		}),
		natsrpc.Handle(contract.SubjectAgentAssets, func(ctx context.Context, req contract.AgentAssetsRequest) (contract.AgentAssets, error) {
			r, err := runners.AuthenticateRunner(ctx, presented(req.AgentRequest))
			if err != nil {
				return contract.AgentAssets{}, err
			}
			return svc.AgentRead(ctx, assetRunner(r), req.JobID, req.Attempt)
		}),
	}
}

// AssetRunners shows the runner registry to the assets domain (asset.Deps.Runners).
func AssetRunners(svc *runner.Service) asset.Runners { return assetRegistry{svc: svc} }

type assetRegistry struct{ svc *runner.Service }

func (r assetRegistry) RunnerByID(ctx context.Context, id string) (asset.Runner, error) {
	v, err := r.svc.RunnerByID(ctx, id)
	if err != nil {
		return asset.Runner{}, err
	}
	return assetRunner(v), nil
}

func assetRunner(r runner.Runner) asset.Runner {
	return asset.Runner{ID: r.ID, Name: r.Name, Environment: r.Environment}
}
