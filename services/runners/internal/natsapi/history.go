package natsapi

import (
	"context"

	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/runners/internal/history"
)

// HistoryEndpoints lists the history's operations (roles checked by the domain).
func HistoryEndpoints(svc *history.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectRunnerMetrics, func(ctx context.Context, req contract.RunnerMetricsRequest) (contract.RunnerMetricsHistory, error) {
			return svc.RunnerMetrics(ctx, req.ID, req.Hours)
		}),
		natsrpc.Handle(contract.SubjectDashboardStats, func(ctx context.Context, req contract.DashboardStatsRequest) (contract.DashboardStats, error) {
			return svc.Dashboard(ctx, req.Hours)
		}),
	}
}
