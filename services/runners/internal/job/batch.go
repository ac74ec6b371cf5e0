package job

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// CreateBatch records several pending jobs (OPERATOR and up, while the
// license allows new jobs), each checked as Create checks it, in one
// transaction: all or none. A request repeated under the same idempotency
// key returns the jobs the first one created; the key used for a different
// batch is a conflict. The jobs themselves carry no key.
func (s *Service) CreateBatch(ctx context.Context, ins []NewJob, key string) ([]Job, error) {
	if err := requireOperator(ctx); err != nil {
		return nil, err
	}
	if len(ins) == 0 || len(ins) > runners.MaxJobBatch {
		return nil, errs.Ef(errs.InvalidArgument, "a batch holds 1 to %d jobs, not %d", runners.MaxJobBatch, len(ins))
	}
	if err := checkKey("Idempotency-Key", key); err != nil {
		return nil, err
	}
	ins = append([]NewJob(nil), ins...)
	hashes := make([]string, len(ins))
	for i := range ins {
		if ins[i].IdempotencyKey != "" {
			return nil, errs.Ef(errs.InvalidArgument, "jobs[%d]: a job of a batch carries no idempotency_key; the batch's Idempotency-Key header covers it", i)
		}
		in, err := validateNew(ins[i])
		if err != nil {
			return nil, inBatch(i, err)
		}
		if key != "" {
			in.IdempotencyKey = batchKey(key, i)
		}
		ins[i], hashes[i] = in, requestHash(in)
	}
	createdBy := caller.ActorFromContext(ctx).ID
	if js, ok, err := s.replayBatch(ctx, createdBy, key, hashes); ok || err != nil {
		return js, err
	}
	if err := s.License.AllowJob(ctx); err != nil {
		return nil, err
	}
	find := s.packageMemo()
	js, evs := make([]Job, len(ins)), make([]audit.Event, len(ins))
	for i, in := range ins {
		j, err := s.build(ctx, in, createdBy, hashes[i], find)
		if err != nil {
			return nil, inBatch(i, err)
		}
		js[i], evs[i] = j, event(ActionCreate, j, nil)
	}
	err := s.Store.CreateJobs(ctx, js, evs)
	if errors.Is(err, ErrKeyTaken) { // the same batch, at the same moment
		if js, ok, err := s.replayBatch(ctx, createdBy, key, hashes); ok || err != nil {
			return js, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create %d jobs: %w", len(js), err)
	}
	entries := make([]Entry, len(js))
	for i, j := range js {
		s.Meter.JobStatus(StatusPending)
		entries[i] = entryOf(j)
	}
	if err := s.Queue.Enqueue(ctx, entries...); err != nil {
		s.Log.WarnContext(ctx, "queue new jobs (the reconcile queues them)", "jobs", len(js), "err", err)
	}
	return js, nil
}

// batchKey is the idempotency key of a batch's i-th job. The space keeps it
// apart from every key a single create may use (checkKey allows none).
func batchKey(key string, i int) string { return key + " #" + strconv.Itoa(i) }

// replayBatch returns the jobs the batch under key created, if it was; a
// different batch under key (other jobs, or more or fewer) is a conflict.
func (s *Service) replayBatch(ctx context.Context, createdBy, key string, hashes []string) ([]Job, bool, error) {
	if key == "" {
		return nil, false, nil
	}
	conflict := errs.E(errs.Conflict, "this Idempotency-Key was used for a different batch; use a new key for a new batch")
	js := make([]Job, 0, len(hashes))
	for i := 0; i <= len(hashes); i++ {
		j, ok, err := s.Store.JobByKey(ctx, createdBy, batchKey(key, i))
		switch {
		case err != nil:
			return nil, false, err
		case i == 0 && !ok:
			return nil, false, nil // a new batch
		case i == len(hashes) && ok, i < len(hashes) && (!ok || j.RequestHash != hashes[i]):
			return nil, false, conflict
		case i < len(hashes):
			js = append(js, j)
		}
	}
	return js, true, nil
}

// packageMemo is Store.FindPackage remembering its answers for one batch.
func (s *Service) packageMemo() findPackage {
	seen := map[[2]string]Package{}
	return func(ctx context.Context, name, version string) (Package, error) {
		if p, ok := seen[[2]string{name, version}]; ok {
			return p, nil
		}
		p, err := s.Store.FindPackage(ctx, name, version)
		if err == nil {
			seen[[2]string{name, version}] = p
		}
		return p, err
	}
}

// inBatch names the job of a batch an error is about.
func inBatch(i int, err error) error {
	kind, msg := errs.Public(err)
	if kind == errs.Internal {
		return fmt.Errorf("jobs[%d]: %w", i, err)
	}
	return errs.Wrap(kind, fmt.Sprintf("jobs[%d]: %s", i, msg), err)
}
