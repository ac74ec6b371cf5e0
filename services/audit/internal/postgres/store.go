package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/audit/internal/streamcheck"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// WriterRole is the PostgreSQL role the service works as (see migration 0002).
const WriterRole = "exekra_audit_writer"

// chainLock serializes chain writers across every audit instance.
const chainLock = "exekra.audit.chain"

// Store reads and appends the log.
type Store struct{ pool *pgxpool.Pool }

// NewStore wraps a pool acting as WriterRole.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

const columns = `seq, event_id::text, at, actor_type, actor_id, actor_email, actor_name, actor_role, actor_token_id, action,
	target_type, target_id, outcome, reason, source_ip, request_id, service, version, details, prev_hash, hash`

// Entry is an event as the log takes it from the AUDIT stream.
type Entry struct {
	audit.Event
	// StreamSeq is the stream sequence of the message that carried the
	// event; 0 when unknown (stored as NULL).
	StreamSeq uint64
}

// Append chains the events not yet in the log onto its head, in order, in one
// transaction under the chain lock. It returns how many it added.
func (s *Store) Append(ctx context.Context, entries []Entry) (int, error) {
	added := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", chainLock); err != nil {
			return fmt.Errorf("chain lock: %w", err)
		}
		fresh, err := s.unseen(ctx, tx, entries)
		if err != nil || len(fresh) == 0 {
			return err
		}
		seq, prev, err := head(ctx, tx)
		if err != nil {
			return err
		}
		rows := make([][]any, 0, len(fresh))
		for _, e := range fresh {
			ev, err := audit.Normalize(e.Event)
			if err != nil {
				return err
			}
			hash, err := audit.ChainHash(prev, ev)
			if err != nil {
				return err
			}
			seq++
			details, _ := json.Marshal(ev.Details)
			rows = append(rows, []any{seq, ev.ID, ev.At, ev.Actor.Type, ev.Actor.ID, ev.Actor.Email, ev.Actor.Name, ev.Actor.Role, ev.Actor.TokenID,
				ev.Action, ev.Target.Type, ev.Target.ID, ev.Outcome, ev.Reason, ev.SourceIP, ev.RequestID, ev.Service, ev.Version,
				string(details), prev, hash, streamSeq(e.StreamSeq)})
			prev = hash
		}
		added = len(rows)
		return insert(ctx, tx, rows)
	})
	return added, err
}

// insert adds rows; ON CONFLICT guards the unique event id, and a skipped row
// would break the chain, so any shortfall aborts the transaction.
func insert(ctx context.Context, tx pgx.Tx, rows [][]any) error {
	batch := &pgx.Batch{}
	for _, r := range rows {
		batch.Queue(`INSERT INTO audit_log (seq, event_id, at, actor_type, actor_id, actor_email, actor_name, actor_role, actor_token_id, action,
			target_type, target_id, outcome, reason, source_ip, request_id, service, version, details, prev_hash, hash, stream_seq)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19::jsonb,$20,$21,$22)
			ON CONFLICT (event_id) DO NOTHING`, r...)
	}
	br := tx.SendBatch(ctx, batch)
	for range rows {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return fmt.Errorf("append to audit log: %w", err)
		}
		if tag.RowsAffected() != 1 {
			br.Close()
			return errors.New("append to audit log: an event appeared twice under the chain lock")
		}
	}
	return br.Close()
}

// streamSeq is a stream sequence as the column holds it: NULL when unknown.
func streamSeq(seq uint64) *int64 {
	if seq == 0 {
		return nil
	}
	v := int64(seq)
	return &v
}

// unseen drops events already in the log and repeats within the batch.
func (s *Store) unseen(ctx context.Context, tx pgx.Tx, entries []Entry) ([]Entry, error) {
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	rows, err := tx.Query(ctx, "SELECT event_id::text FROM audit_log WHERE event_id = ANY($1::uuid[])", ids)
	if err != nil {
		return nil, fmt.Errorf("find logged events: %w", err)
	}
	logged, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find logged events: %w", err)
	}
	seen := map[string]bool{}
	for _, id := range logged {
		seen[id] = true
	}
	var fresh []Entry
	for _, e := range entries {
		if !seen[strings.ToLower(e.ID)] {
			seen[strings.ToLower(e.ID)] = true
			fresh = append(fresh, e)
		}
	}
	return fresh, nil
}

func head(ctx context.Context, tx pgx.Tx) (int64, string, error) {
	var seq int64
	var hash string
	err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, audit.GenesisHash, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read chain head: %w", err)
	}
	return seq, hash, nil
}

// Head returns the last seq and hash (0 and the genesis hash when empty).
func (s *Store) Head(ctx context.Context) (int64, string, error) {
	var seq int64
	var hash string
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
		seq, hash, err = head(ctx, tx)
		return err
	})
	return seq, hash, err
}

// StreamHead returns the log's last seq and the highest stream seq a row
// records (both indexed).
func (s *Store) StreamHead(ctx context.Context) (streamcheck.Head, error) {
	var last, stream *int64
	err := s.pool.QueryRow(ctx, "SELECT (SELECT max(seq) FROM audit_log), (SELECT max(stream_seq) FROM audit_log)").Scan(&last, &stream)
	if err != nil {
		return streamcheck.Head{}, fmt.Errorf("read the log's stream head: %w", err)
	}
	var h streamcheck.Head
	if last != nil {
		h.LogSeq = *last
	}
	if stream != nil {
		h.StreamSeq = uint64(*stream)
	}
	return h, nil
}

// Present returns which of ids the log holds.
func (s *Store) Present(ctx context.Context, ids []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT event_id::text FROM audit_log WHERE event_id = ANY($1::uuid[])", ids)
	if err != nil {
		return nil, fmt.Errorf("confirm events: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func scanRecord(row pgx.CollectableRow) (audit.Record, error) {
	var r audit.Record
	var details []byte
	err := row.Scan(&r.Seq, &r.ID, &r.At, &r.Actor.Type, &r.Actor.ID, &r.Actor.Email, &r.Actor.Name, &r.Actor.Role, &r.Actor.TokenID, &r.Action,
		&r.Target.Type, &r.Target.ID, &r.Outcome, &r.Reason, &r.SourceIP, &r.RequestID, &r.Service, &r.Version, &details, &r.PrevHash, &r.Hash)
	if err != nil {
		return r, err
	}
	r.At = r.At.UTC()
	if err := json.Unmarshal(details, &r.Details); err != nil {
		return r, fmt.Errorf("details of seq %d: %w", r.Seq, err)
	}
	return r, nil
}
