package console_test

import (
	"context"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
)

func sampleStatus() licensing.Status {
	last := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return licensing.Status{
		LicenseID: "lic-42", Licensee: "Acme Corp", AdminEmail: adminUser.Email, MaxRunners: 10,
		ExpiresAt: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Status: licensing.StatusActive, DaysLeft: 7,
		Warning:    "The license expires in 7 days; renew it.",
		Validation: licensing.Validation{Mode: "offline", LastValidatedAt: &last, PendingReports: 2},
		Usage:      licensing.Usage{Runners: 3},
	}
}

func isAdmin(ctx context.Context) bool {
	return identity.RoleAtLeast(caller.ActorFromContext(ctx).Role, identity.RoleAdmin)
}

func (f *fakeHub) licensingEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(licensing.SubjectSetupState, func(_ context.Context, _ licensing.SetupStateRequest) (licensing.SetupState, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return licensing.SetupState{Licensed: f.licensed}, nil
		}),
		natsrpc.Handle(licensing.SubjectActivate, func(ctx context.Context, r licensing.ActivateRequest) (licensing.Status, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.licensed && !isAdmin(ctx) {
				return licensing.Status{}, errs.E(errs.PermissionDenied, "only an ADMIN may renew the license")
			}
			if r.License != goodLic {
				return licensing.Status{}, errs.E(errs.InvalidLicense, "the license signature is not valid")
			}
			f.licensed = true
			return sampleStatus(), nil
		}),
		natsrpc.Handle(licensing.SubjectStatus, func(ctx context.Context, _ licensing.StatusRequest) (licensing.Status, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.lastStatusBy = caller.ActorFromContext(ctx)
			if !isAdmin(ctx) {
				return licensing.Status{}, errs.E(errs.PermissionDenied, "this needs the ADMIN role")
			}
			return sampleStatus(), nil
		}),
		natsrpc.Handle(licensing.SubjectValidate, func(_ context.Context, _ licensing.ValidateRequest) (licensing.Status, error) {
			return sampleStatus(), nil
		}),
		natsrpc.Handle(licensing.SubjectReceipt, func(_ context.Context, r licensing.ReceiptRequest) (licensing.Status, error) {
			if r.Receipt != goodRcpt {
				return licensing.Status{}, errs.E(errs.InvalidLicense, "the receipt is not signed by Exekra")
			}
			return sampleStatus(), nil
		}),
	}
}

func (f *fakeHub) auditEndpoints() []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(audit.SubjectQuery, func(_ context.Context, q audit.QueryRequest) (audit.QueryResponse, error) {
			f.mu.Lock()
			f.lastQuery = q
			f.mu.Unlock()
			top := q.BeforeSeq
			if top == 0 {
				top = 101
			}
			var items []audit.Record
			for seq := top - 1; seq > top-4 && seq > 0; seq-- {
				items = append(items, audit.Record{Seq: seq, Event: audit.Event{
					At: time.Date(2026, 2, 1, 10, 0, int(seq%60), 0, time.UTC), Action: "user.create", Outcome: audit.Success,
					Actor:  audit.Actor{Type: audit.ActorUser, ID: adminUser.ID, Email: adminUser.Email},
					Target: audit.Target{Type: "user", ID: "u-9"}, SourceIP: "192.0.2.7",
				}})
			}
			return audit.QueryResponse{Items: items, More: q.BeforeSeq == 0}, nil
		}),
		natsrpc.Handle(audit.SubjectVerify, func(_ context.Context, _ audit.VerifyRequest) (audit.VerifyResponse, error) {
			return audit.VerifyResponse{OK: true, Checked: 100, HeadHash: "9f86d081884c7d659a2feaa0c55ad015"}, nil
		}),
	}
}
