package assetkey

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/envelope"
	"github.com/jackc/pgx/v5"
)

// RewrapResult tells what one Rewrap did.
type RewrapResult struct {
	Primary    string // the primary key of the file
	Previous   string // the key that was primary before, when this run audited the rotation
	Rewrapped  int    // values moved under Primary by this run
	Audited    bool   // this run recorded asset.key.rotate
	Unreadable int    // values under a key the file lacks, or that failed to open
	Stale      bool   // another instance uses a newer primary: nothing done
}

// settle runs Rewrap and logs its outcome.
func (h *Holder) settle(ctx context.Context) {
	res, err := h.Rewrap(ctx)
	if err != nil {
		if ctx.Err() == nil {
			h.log.Error("re-wrap asset values under the primary key", "err", err)
		}
		return
	}
	if res.Rewrapped > 0 || res.Audited {
		h.log.Info(fmt.Sprintf("re-wrapped %d asset values under key %s", res.Rewrapped, res.Primary),
			"primary", res.Primary, "previous", res.Previous)
	}
}

// Rewrap moves the data key of every value not under the file's primary key
// under it, holding the advisory lock LockName, and records the primary key's
// start (asset.key.rotate, once per key). It does nothing while the keys are
// unavailable, or when another instance already uses a newer primary (this
// instance's file is then out of date, which it logs).
func (h *Holder) Rewrap(ctx context.Context) (RewrapResult, error) {
	ring, err := h.Keyring()
	if err != nil {
		return RewrapResult{}, nil
	}
	res := RewrapResult{Primary: ring.PrimaryID()}
	conn, err := h.pool.Acquire(ctx)
	if err != nil {
		return res, fmt.Errorf("acquire a connection: %w", err)
	}
	defer conn.Release()

	var work bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM asset_keys WHERE id = $1 AND primary_since IS NULL)
		OR EXISTS (SELECT 1 FROM asset_values WHERE kek_id <> $1 AND kek_id = ANY($2))`,
		res.Primary, ring.IDs()).Scan(&work); err != nil {
		return res, fmt.Errorf("look for values under older keys: %w", err)
	}
	if !work {
		return res, nil
	}

	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", LockName); err != nil {
		return res, fmt.Errorf("take the asset keys lock: %w", err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, "SELECT pg_advisory_unlock(hashtext($1))", LockName); err != nil {
			// A connection that cannot unlock must not go back to the pool holding the lock.
			_ = conn.Conn().Close(uctx)
		}
	}()

	newer, err := newerPrimary(ctx, conn.Conn(), res.Primary)
	if err != nil {
		return res, err
	}
	if newer != "" {
		res.Stale = true
		h.mu.Lock()
		logIt := h.staleFor != res.Primary
		h.staleFor = res.Primary
		h.mu.Unlock()
		if logIt {
			h.log.Warn(fmt.Sprintf("the asset key file %s is out of date: its primary key is %s but key %s came into use later on another runners instance; copy the current key file here",
				h.path, res.Primary, newer))
		}
		return res, nil
	}

	if err := h.rewrapAll(ctx, conn.Conn(), ring, &res); err != nil {
		return res, err
	}
	if res.Unreadable > 0 {
		h.log.Error(fmt.Sprintf("%d asset values could not be re-wrapped under key %s: their key is not in the key file %s or they do not open",
			res.Unreadable, res.Primary, h.path))
	}
	if err := h.markPrimary(ctx, conn.Conn(), &res); err != nil {
		return res, err
	}
	return res, nil
}

// newerPrimary is a key that became primary after primary did ("" if none).
func newerPrimary(ctx context.Context, conn *pgx.Conn, primary string) (string, error) {
	var newer string
	err := conn.QueryRow(ctx, `SELECT k.id FROM asset_keys k, asset_keys p
		WHERE p.id = $1 AND p.primary_since IS NOT NULL AND k.id <> $1 AND k.primary_since > p.primary_since
		ORDER BY k.primary_since DESC LIMIT 1`, primary).Scan(&newer)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up the primary asset keys: %w", err)
	}
	return newer, nil
}

type wrappedRow struct {
	assetID, scope, scopeKey string
	version                  int
	kekID                    string
	wrapped                  []byte
}

// rewrapAll pages through the values not under the primary key by primary
// key order, RewrapBatch at a time, each batch in one transaction. A value
// changed meanwhile (other key, version or wrapped key) is left alone: the
// concurrent write wins.
func (h *Holder) rewrapAll(ctx context.Context, conn *pgx.Conn, ring *envelope.Keyring, res *RewrapResult) error {
	const first = `SELECT asset_id::text, scope, scope_key, version, kek_id, wrapped_key FROM asset_values
		WHERE kek_id <> $1 ORDER BY asset_id, scope, scope_key LIMIT $2`
	const next = `SELECT asset_id::text, scope, scope_key, version, kek_id, wrapped_key FROM asset_values
		WHERE kek_id <> $1 AND (asset_id, scope, scope_key) > ($3::uuid, $4, $5)
		ORDER BY asset_id, scope, scope_key LIMIT $2`
	var last *wrappedRow
	for {
		var rows pgx.Rows
		var err error
		if last == nil {
			rows, err = conn.Query(ctx, first, res.Primary, RewrapBatch)
		} else {
			rows, err = conn.Query(ctx, next, res.Primary, RewrapBatch, last.assetID, last.scope, last.scopeKey)
		}
		if err != nil {
			return fmt.Errorf("read values to re-wrap: %w", err)
		}
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (wrappedRow, error) {
			var w wrappedRow
			err := r.Scan(&w.assetID, &w.scope, &w.scopeKey, &w.version, &w.kekID, &w.wrapped)
			return w, err
		})
		if err != nil {
			return fmt.Errorf("read values to re-wrap: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		last = &batch[len(batch)-1]

		var b pgx.Batch
		queued := 0
		for _, w := range batch {
			if !ring.Has(w.kekID) {
				res.Unreadable++
				continue
			}
			aad := envelope.AAD(w.assetID, w.scope, w.scopeKey, w.version)
			s, err := ring.Rewrap(envelope.Sealed{KeyID: w.kekID, WrappedKey: w.wrapped}, aad)
			if err != nil {
				res.Unreadable++
				h.log.Error("an asset value does not open under its key; left as it is",
					"asset_id", w.assetID, "scope", w.scope, "scope_key", w.scopeKey, "key_id", w.kekID)
				continue
			}
			b.Queue(`UPDATE asset_values SET kek_id = $1, wrapped_key = $2
				WHERE asset_id = $3 AND scope = $4 AND scope_key = $5 AND kek_id = $6 AND version = $7 AND wrapped_key = $8`,
				s.KeyID, s.WrappedKey, w.assetID, w.scope, w.scopeKey, w.kekID, w.version, w.wrapped)
			queued++
		}
		if queued > 0 {
			err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
				br := tx.SendBatch(ctx, &b)
				for range queued {
					tag, err := br.Exec()
					if err != nil {
						_ = br.Close()
						return err
					}
					res.Rewrapped += int(tag.RowsAffected())
				}
				return br.Close()
			})
			if err != nil {
				return fmt.Errorf("re-wrap asset values: %w", err)
			}
		}
		if len(batch) < RewrapBatch {
			return nil
		}
	}
}

// markPrimary records when the primary key came into use, once, and audits
// the rotation in the same transaction when a key was primary before it.
func (h *Holder) markPrimary(ctx context.Context, conn *pgx.Conn, res *RewrapResult) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var previous string
		err := tx.QueryRow(ctx, `SELECT id FROM asset_keys WHERE id <> $1 AND primary_since IS NOT NULL
			ORDER BY primary_since DESC LIMIT 1`, res.Primary).Scan(&previous)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE asset_keys SET primary_since = now() WHERE id = $1 AND primary_since IS NULL`, res.Primary)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 || previous == "" {
			return nil // already recorded, or the first key ever: no rotation
		}
		if _, err := h.events.Append(ctx, tx, audit.Event{
			Action: runners.ActionAssetKeyRotate,
			Target: audit.Target{Type: TargetType, ID: res.Primary},
			Details: map[string]any{"primary": res.Primary, "previous": previous,
				"values_rewrapped": res.Rewrapped},
		}); err != nil {
			return err
		}
		res.Previous, res.Audited = previous, true
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the primary asset key %s: %w", res.Primary, err)
	}
	return nil
}
