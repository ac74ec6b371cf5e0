// Package natsapi serves the licensing service's NATS contract and asks the
// runners service for the runner count.
package natsapi

import (
	"context"
	"time"

	"github.com/exekra/hub/libs/caller"
	contract "github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/licensing/internal/license"
)

// Store is what the endpoints read directly.
type Store interface {
	Licensed(ctx context.Context) (bool, error)
}

// RoleAdmin is the role that may replace an active license.
const RoleAdmin = "ADMIN"

// Endpoints lists the service's operations.
func Endpoints(store Store, svc *license.Service) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(contract.SubjectSetupState, func(ctx context.Context, _ contract.SetupStateRequest) (contract.SetupState, error) {
			ok, err := store.Licensed(ctx)
			return contract.SetupState{Licensed: ok}, err
		}),
		natsrpc.Handle(contract.SubjectActivate, func(ctx context.Context, req contract.ActivateRequest) (contract.Status, error) {
			admin := caller.ActorFromContext(ctx).Role == RoleAdmin
			return status(svc.Activate(ctx, req.License, admin))
		}),
		natsrpc.Handle(contract.SubjectStatus, func(ctx context.Context, _ contract.StatusRequest) (contract.Status, error) {
			return status(svc.Status(ctx))
		}),
		natsrpc.Handle(contract.SubjectValidate, func(ctx context.Context, _ contract.ValidateRequest) (contract.Status, error) {
			return status(svc.Validate(ctx))
		}),
		natsrpc.Handle(contract.SubjectUsageReport, func(ctx context.Context, _ contract.UsageReportRequest) (contract.UsageReport, error) {
			name, content, err := svc.UsageReport(ctx)
			return contract.UsageReport{FileName: name, Content: content}, err
		}),
		natsrpc.Handle(contract.SubjectReceipt, func(ctx context.Context, req contract.ReceiptRequest) (contract.Status, error) {
			return status(svc.ImportReceipt(ctx, req.Receipt))
		}),
		natsrpc.Handle(contract.SubjectCheck, func(ctx context.Context, req contract.CheckRequest) (contract.CheckResponse, error) {
			st, err := svc.Check(ctx, req.Action, req.Runners)
			return contract.CheckResponse{Status: st}, err
		}),
		natsrpc.Handle(contract.SubjectAdminEmail, func(ctx context.Context, _ contract.AdminEmailRequest) (contract.AdminEmail, error) {
			email, err := svc.AdminEmail(ctx)
			return contract.AdminEmail{Email: email}, err
		}),
	}
}

// status maps a domain snapshot to the contract.
func status(s license.Snapshot, err error) (contract.Status, error) {
	if err != nil {
		return contract.Status{}, err
	}
	doc, ev := s.License.Document, s.Evaluation
	next := ev.NextDueAt
	return contract.Status{
		LicenseID: doc.LicenseID, Licensee: doc.Licensee, AdminEmail: doc.AdminEmail, MaxRunners: doc.MaxRunners,
		IssuedAt: doc.IssuedAt.UTC(), NotBefore: doc.NotBefore.UTC(), ExpiresAt: doc.ExpiresAt.UTC(),
		Status: ev.Status, DaysLeft: ev.DaysLeft, Warning: ev.Warning, WarningDays: ev.WarningDays,
		GraceEndsAt: ev.GraceEndsAt.UTC(), InstallationID: s.InstallationID, ClockRollback: s.ClockRollback,
		Validation: contract.Validation{Mode: doc.Validation.Mode, IntervalHours: doc.Validation.IntervalHours,
			GraceDays: doc.Validation.GraceDays, LastValidatedAt: utc(s.License.LastValidatedAt), NextDueAt: utc(&next),
			PendingReports: s.Pending},
		Usage: contract.Usage{Runners: s.Runners, Note: s.RunnersNote},
	}, nil
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Runners counts registered runners by asking the runners service.
type Runners struct {
	NATS *natsrpc.Client
}

var _ license.RunnerCounter = Runners{}

// CountRunners asks runners.SubjectCount; an absent service is errs.Unavailable.
func (r Runners) CountRunners(ctx context.Context) (int, error) {
	c, err := natsrpc.Call[runners.Count](ctx, r.NATS, runners.SubjectCount, runners.CountRequest{})
	return c.Runners, err
}
