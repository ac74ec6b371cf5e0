package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/packages"
)

// PackageEndpoints lists the package catalogue's operations: the user side
// (roles checked by the domain) and the runner's download check.
func PackageEndpoints(svc *packages.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectPackageRecord, func(ctx context.Context, req contract.RecordPackageRequest) (contract.Package, error) {
			p, err := svc.Record(ctx, req)
			return ToPackage(p), err
		}),
		natsrpc.Handle(contract.SubjectPackageList, func(ctx context.Context, req contract.ListPackagesRequest) (contract.ListPackagesResponse, error) {
			page, err := svc.List(ctx, req.Limit, req.Cursor)
			if err != nil {
				return contract.ListPackagesResponse{}, err
			}
			return contract.ListPackagesResponse{Items: toPackages(page.Packages), NextCursor: page.NextCursor}, nil
		}),
		natsrpc.Handle(contract.SubjectPackageVersions, func(ctx context.Context, req contract.PackageVersionsRequest) (contract.PackageVersions, error) {
			ps, err := svc.Versions(ctx, req.Name)
			if err != nil {
				return contract.PackageVersions{}, err
			}
			return contract.PackageVersions{Items: toPackages(ps)}, nil
		}),
		natsrpc.Handle(contract.SubjectPackageGet, func(ctx context.Context, req contract.PackageRequest) (contract.Package, error) {
			p, err := svc.Get(ctx, req.Name, req.Version)
			return ToPackage(p), err
		}),
		natsrpc.Handle(contract.SubjectPackageAccess, func(ctx context.Context, req contract.PackageAccessRequest) (contract.PackageAccess, error) {
			return svc.Access(ctx, presented(req.AgentRequest), req.Name, req.Version)
		}),
	}
}

// ToPackage shows a package version as the contract does.
func ToPackage(p packages.Package) contract.Package {
	out := contract.Package{Name: p.Name, Version: p.Version, SHA256: p.SHA256, SizeBytes: p.SizeBytes,
		PublishedBy: p.PublishedBy, PublishedAt: p.PublishedAt.UTC(), Parameters: p.Parameters, Assets: p.Assets}
	if out.Assets == nil {
		out.Assets = []string{}
	}
	return out
}

func toPackages(ps []packages.Package) []contract.Package {
	out := make([]contract.Package, 0, len(ps))
	for _, p := range ps {
		out = append(out, ToPackage(p))
	}
	return out
}
