package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/jackc/pgx/v5"
)

// Query returns one page of records matching q, plus whether more follow.
func (s *Store) Query(ctx context.Context, q audit.QueryRequest) (audit.QueryResponse, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "?", fmt.Sprintf("$%d", len(args))))
	}
	if q.Actor != "" {
		add("(actor_id = ? OR lower(actor_email) = lower(?))", q.Actor)
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.Target != "" {
		add("target_id = ?", q.Target)
	}
	if !q.Since.IsZero() {
		add("at >= ?", q.Since)
	}
	if !q.Until.IsZero() {
		add("at < ?", q.Until)
	}
	order := "DESC"
	if q.Ascending {
		order = "ASC"
		if q.AfterSeq > 0 {
			add("seq > ?", q.AfterSeq)
		}
	} else if q.BeforeSeq > 0 {
		add("seq < ?", q.BeforeSeq)
	}
	sql := "SELECT " + columns + " FROM audit_log"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, q.Limit+1)
	sql += fmt.Sprintf(" ORDER BY seq %s LIMIT $%d", order, len(args))
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return audit.QueryResponse{}, fmt.Errorf("query audit log: %w", err)
	}
	items, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return audit.QueryResponse{}, fmt.Errorf("query audit log: %w", err)
	}
	resp := audit.QueryResponse{Items: items}
	if len(items) > q.Limit {
		resp.Items, resp.More = items[:q.Limit], true
	}
	return resp, nil
}

// Walk calls fn for every record in seq order, a page at a time, in one
// repeatable-read snapshot so concurrent appends do not disturb the walk.
func (s *Store) Walk(ctx context.Context, fn func(audit.Record) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		after := int64(-1)
		for {
			rows, err := tx.Query(ctx, "SELECT "+columns+" FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 2000", after)
			if err != nil {
				return fmt.Errorf("walk audit log: %w", err)
			}
			page, err := pgx.CollectRows(rows, scanRecord)
			if err != nil {
				return fmt.Errorf("walk audit log: %w", err)
			}
			for _, r := range page {
				if err := fn(r); err != nil {
					return err
				}
			}
			if len(page) < 2000 {
				return nil
			}
			after = page[len(page)-1].Seq
		}
	})
}

// SaveCheckpoint stores a signed checkpoint.
func (s *Store) SaveCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO checkpoints (seq, hash, at, public_key, signature) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (seq) DO NOTHING`, c.Seq, c.Hash, c.At, c.PublicKey, c.Signature)
	if err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// Checkpoints lists the newest checkpoints.
func (s *Store) Checkpoints(ctx context.Context, limit int) ([]audit.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, "SELECT seq, hash, at, public_key, signature FROM checkpoints ORDER BY seq DESC LIMIT $1", limit)
	if err != nil {
		return nil, fmt.Errorf("list checkpoints: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Checkpoint, error) {
		var c audit.Checkpoint
		err := row.Scan(&c.Seq, &c.Hash, &c.At, &c.PublicKey, &c.Signature)
		c.At = c.At.UTC()
		return c, err
	})
}
