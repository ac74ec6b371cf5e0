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
	"github.com/exekra/hub/services/audit/internal/streamcheck"
)

// MaxPage bounds one query page.
const MaxPage = 1000

// Store is what the endpoints read.
type Store interface {
	Present(ctx context.Context, ids []string) ([]string, error)
	Query(ctx context.Context, q audit.QueryRequest) (audit.QueryResponse, error)
	Walk(ctx context.Context, fn func(audit.Record) error) error
	Checkpoints(ctx context.Context, limit int) ([]audit.Checkpoint, error)
	StreamHead(ctx context.Context) (streamcheck.Head, error)
}

// Streams opens the AUDIT stream for one verification (streamcheck.JetStream).
type Streams interface {
	Open(ctx context.Context) (streamcheck.Stream, error)
}

// Endpoints lists the service's operations.
func Endpoints(store Store, streams Streams) []natsrpc.Endpoint {
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
			return verify(ctx, store, streams)
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

// verify walks the chain, holding it against the newest checkpoint, then
// compares the log's end with the AUDIT stream. The stream and the
// checkpoint are read before the walk: whatever the consumer acknowledged or
// a checkpoint covered was committed before the walk's snapshot is taken.
func verify(ctx context.Context, store Store, streams Streams) (audit.VerifyResponse, error) {
	stream, err := streams.Open(ctx)
	if err != nil {
		return audit.VerifyResponse{}, err
	}
	cps, err := store.Checkpoints(ctx, 1)
	if err != nil {
		return audit.VerifyResponse{}, err
	}
	v := chain.NewVerifier()
	if len(cps) > 0 {
		v.Expect(cps[0])
	}
	if err := store.Walk(ctx, func(r audit.Record) error { v.Add(r); return nil }); err != nil {
		return audit.VerifyResponse{}, err
	}
	res := v.Result()
	sc, err := streamcheck.Check(ctx, stream, store)
	if err != nil {
		return audit.VerifyResponse{}, err
	}
	res.Stream = &sc.StreamCheck
	if res.OK && sc.Reason != "" {
		res.OK, res.HeadHash, res.FirstBadSeq, res.Reason = false, "", sc.BadSeq, sc.Reason
	}
	return res, nil
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
