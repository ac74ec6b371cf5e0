// Package natsapi serves the audit service's NATS contract.
package natsapi

import (
	"context"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/text"
	"github.com/exekra/hub/services/audit/internal/chain"
)

// MaxPage bounds one query page.
const MaxPage = 1000

// Store is what the endpoints read.
type Store interface {
	Present(ctx context.Context, ids []string) ([]string, error)
	Query(ctx context.Context, q audit.QueryRequest) (audit.QueryResponse, error)
	Walk(ctx context.Context, fn func(audit.Record) error) error
	Checkpoints(ctx context.Context, limit int) ([]audit.Checkpoint, error)
}

// Endpoints lists the service's operations.
func Endpoints(store Store) []natsrpc.Endpoint {
	return []natsrpc.Endpoint{
		natsrpc.Handle(audit.SubjectConfirm, func(ctx context.Context, req audit.ConfirmRequest) (audit.ConfirmResponse, error) {
			if len(req.IDs) > 10000 {
				return audit.ConfirmResponse{}, errs.E(errs.InvalidArgument, "at most 10000 ids per confirmation")
			}
			present, err := store.Present(ctx, req.IDs)
			return audit.ConfirmResponse{Present: present}, err
		}),
		natsrpc.Handle(audit.SubjectQuery, func(ctx context.Context, req audit.QueryRequest) (audit.QueryResponse, error) {
			if err := requireAdmin(ctx); err != nil {
				return audit.QueryResponse{}, err
			}
			if err := checkQuery(req); err != nil {
				return audit.QueryResponse{}, err
			}
			return store.Query(ctx, req)
		}),
		natsrpc.Handle(audit.SubjectVerify, func(ctx context.Context, _ audit.VerifyRequest) (audit.VerifyResponse, error) {
			if err := requireAdmin(ctx); err != nil {
				return audit.VerifyResponse{}, err
			}
			v := chain.NewVerifier()
			err := store.Walk(ctx, func(r audit.Record) error { v.Add(r); return nil })
			return v.Result(), err
		}),
		natsrpc.Handle(audit.SubjectCheckpoints, func(ctx context.Context, req audit.CheckpointsRequest) (audit.CheckpointsResponse, error) {
			if err := requireAdmin(ctx); err != nil {
				return audit.CheckpointsResponse{}, err
			}
			items, err := store.Checkpoints(ctx, min(max(req.Limit, 1), MaxPage))
			return audit.CheckpointsResponse{Items: items}, err
		}),
	}
}

// checkQuery refuses a page size out of bounds and filters PostgreSQL
// cannot compare (NUL, invalid UTF-8).
func checkQuery(q audit.QueryRequest) error {
	if q.Limit <= 0 || q.Limit > MaxPage {
		return errs.Ef(errs.InvalidArgument, "limit must be 1 to %d", MaxPage)
	}
	for _, f := range []struct{ name, value string }{{"actor", q.Actor}, {"action", q.Action}, {"target", q.Target}} {
		if err := text.Check(f.name, f.value); err != nil {
			return err
		}
	}
	return nil
}

// requireAdmin re-checks, behind the gateway, that an administrator asks.
func requireAdmin(ctx context.Context) error {
	if caller.ActorFromContext(ctx).Role != "ADMIN" {
		return errs.E(errs.PermissionDenied, "only administrators may read the audit log")
	}
	return nil
}
