package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/envelope"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/asset"
	"github.com/jackc/pgx/v5"
)

// AssetStore reads and writes assets and their sealed values in the runners schema.
type AssetStore struct{ *Store }

var _ asset.Store = AssetStore{}

// Assets is the assets store on the same pool and outbox.
func (s *Store) Assets() AssetStore { return AssetStore{s} }

// assetColumns are an asset's, then its values as a JSON-free array of
// rows (global first, environments in their order, runners by name).
const assetColumns = `a.id::text, a.name, a.type, a.description, a.created_by, a.created_at, a.updated_by, a.updated_at`

const valueColumns = `v.scope, v.scope_key, (SELECT r.name FROM runners r WHERE v.scope = 'runner' AND r.id::text = v.scope_key),
	v.version, v.kek_id, v.wrapped_key, v.ciphertext, v.updated_by, v.updated_at`

// valueOrder sorts values: global, environments in order, runners by name.
const valueOrder = `ORDER BY CASE v.scope WHEN 'global' THEN 0 WHEN 'environment' THEN 1 ELSE 2 END,
	CASE v.scope_key WHEN 'Development' THEN 0 WHEN 'Staging' THEN 1 WHEN 'Production' THEN 2 ELSE 3 END,
	lower((SELECT r.name FROM runners r WHERE v.scope = 'runner' AND r.id::text = v.scope_key)), v.scope_key`

func errNoAsset(name string) error { return errs.Ef(errs.NotFound, "no asset is named %q", name) }

func scanAsset(row pgx.Row) (asset.Stored, error) {
	var a asset.Stored
	err := row.Scan(&a.ID, &a.Name, &a.Type, &a.Description, &a.CreatedBy, &a.CreatedAt, &a.UpdatedBy, &a.UpdatedAt)
	a.CreatedAt, a.UpdatedAt = a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, err
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// withValues fills in the values of as (only those where picks them, when set).
func withValues(ctx context.Context, q querier, as []asset.Stored, where string, args ...any) ([]asset.Stored, error) {
	if len(as) == 0 {
		return as, nil
	}
	ids := make([]string, len(as))
	at := make(map[string]int, len(as))
	for i, a := range as {
		ids[i], at[a.ID] = a.ID, i
		as[i].Values = []asset.StoredValue{}
	}
	rows, err := q.Query(ctx, "SELECT v.asset_id::text, "+valueColumns+" FROM asset_values v WHERE v.asset_id = ANY($1::uuid[]) "+
		where+" "+valueOrder, append([]any{ids}, args...)...)
	if err != nil {
		return nil, err
	}
	type row struct {
		id string
		v  asset.StoredValue
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var out row
		v := &out.v
		err := r.Scan(&out.id, &v.Scope, &v.ScopeKey, &v.RunnerName, &v.Version, &v.Sealed.KeyID, &v.Sealed.WrappedKey,
			&v.Sealed.Ciphertext, &v.UpdatedBy, &v.UpdatedAt)
		v.UpdatedAt = v.UpdatedAt.UTC()
		return out, err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range vs {
		i := at[r.id]
		as[i].Values = append(as[i].Values, r.v)
	}
	return as, nil
}

func (s AssetStore) collect(ctx context.Context, q querier, sql string, args ...any) ([]asset.Stored, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (asset.Stored, error) { return scanAsset(r) })
	if err != nil {
		return nil, err
	}
	return withValues(ctx, q, as, "")
}

func assetNameTaken(name string) error {
	return errs.Ef(errs.Conflict, "an asset named %q already exists (names are unique whatever their case)", name)
}

// CreateAsset inserts an asset and its values with ev.
func (s AssetStore) CreateAsset(ctx context.Context, a asset.Stored, ev audit.Event) error {
	version := 0
	for _, v := range a.Values {
		version = max(version, v.Version)
	}
	err := s.inTx(ctx, "insert asset", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO assets (id, name, type, description, value_version, created_by, created_at, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			a.ID, a.Name, a.Type, a.Description, version, a.CreatedBy, a.CreatedAt, a.UpdatedBy, a.UpdatedAt)
		for _, v := range a.Values {
			queueValue(b, a.ID, v)
		}
		if _, err := s.events.Queue(ctx, b, ev); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if pgCode(err) == uniqueViolation {
		return assetNameTaken(a.Name)
	}
	return err
}

func queueValue(b *pgx.Batch, assetID string, v asset.StoredValue) {
	b.Queue(`INSERT INTO asset_values (asset_id, scope, scope_key, version, kek_id, wrapped_key, ciphertext, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (asset_id, scope, scope_key) DO UPDATE SET version = EXCLUDED.version, kek_id = EXCLUDED.kek_id,
			wrapped_key = EXCLUDED.wrapped_key, ciphertext = EXCLUDED.ciphertext, updated_by = EXCLUDED.updated_by,
			updated_at = EXCLUDED.updated_at`,
		assetID, v.Scope, v.ScopeKey, v.Version, v.Sealed.KeyID, v.Sealed.WrappedKey, v.Sealed.Ciphertext, v.UpdatedBy, v.UpdatedAt)
}

// Asset returns the asset named name, whatever its case.
func (s AssetStore) Asset(ctx context.Context, name string) (asset.Stored, error) {
	as, err := s.collect(ctx, s.pool, "SELECT "+assetColumns+" FROM assets a WHERE a.name_key = lower($1)", name)
	if err != nil {
		return asset.Stored{}, fmt.Errorf("read asset %s: %w", name, err)
	}
	if len(as) == 0 {
		return asset.Stored{}, errNoAsset(name)
	}
	return as[0], nil
}

// ListAssets pages by name.
func (s AssetStore) ListAssets(ctx context.Context, limit int, after *asset.Cursor, typ string) ([]asset.Stored, error) {
	q, args := "SELECT "+assetColumns+" FROM assets a WHERE ($2 = '' OR a.type = $2)", []any{limit, typ}
	if after != nil {
		q += " AND (a.name_key, a.id) > (lower($3), $4::uuid)"
		args = append(args, after.Name, after.ID)
	}
	as, err := s.collect(ctx, s.pool, q+" ORDER BY a.name_key, a.id LIMIT $1", args...)
	if err != nil {
		return nil, fmt.Errorf("list assets: %w", err)
	}
	return nonNil(as), nil
}

// UpdateAsset sets an asset's description.
func (s AssetStore) UpdateAsset(ctx context.Context, id, description, by string, at time.Time, ev audit.Event) (asset.Stored, error) {
	var out asset.Stored
	err := s.inTx(ctx, "update asset", func(tx pgx.Tx) error {
		as, err := s.collect(ctx, tx, `UPDATE assets a SET description = $2, updated_by = $3, updated_at = $4
			WHERE a.id = $1 RETURNING `+assetColumns, id, description, by, at)
		if err != nil {
			return err
		}
		if len(as) == 0 {
			return errs.E(errs.NotFound, "the asset was deleted meanwhile")
		}
		out = as[0]
		return s.appendEvent(ctx, tx, ev)
	})
	if errs.Is(err, errs.NotFound) {
		return asset.Stored{}, errs.E(errs.NotFound, "the asset was deleted meanwhile")
	}
	return out, err
}

// DeleteAsset deletes an asset and its values.
func (s AssetStore) DeleteAsset(ctx context.Context, id string, ev audit.Event) error {
	err := s.inTx(ctx, "delete asset", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM assets WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "the asset was deleted meanwhile")
		}
		return s.appendEvent(ctx, tx, ev)
	})
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "the asset was deleted meanwhile")
	}
	return err
}

// SetValue takes the asset's next version, seals and writes the value.
func (s AssetStore) SetValue(ctx context.Context, assetID string, v asset.StoredValue,
	seal func(version int) (envelope.Sealed, error), ev func(version int) audit.Event) (int, error) {
	err := s.inTx(ctx, "set asset value", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE assets SET value_version = value_version + 1 WHERE id = $1 RETURNING value_version`,
			assetID).Scan(&v.Version)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.E(errs.NotFound, "the asset was deleted meanwhile")
		}
		if err != nil {
			return err
		}
		if v.Sealed, err = seal(v.Version); err != nil {
			return fmt.Errorf("seal: %w", err)
		}
		b := &pgx.Batch{}
		queueValue(b, assetID, v)
		if _, err := s.events.Queue(ctx, b, ev(v.Version)); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if errs.Is(err, errs.NotFound) {
		return 0, errs.E(errs.NotFound, "the asset was deleted meanwhile")
	}
	return v.Version, err
}

// DeleteValue deletes a scope's value.
func (s AssetStore) DeleteValue(ctx context.Context, assetID, scope, scopeKey string, ev audit.Event) error {
	err := s.inTx(ctx, "delete asset value", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM asset_values WHERE asset_id = $1 AND scope = $2 AND scope_key = $3",
			assetID, scope, scopeKey)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errs.E(errs.NotFound, "no such value")
		}
		return s.appendEvent(ctx, tx, ev)
	})
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.NotFound, "no such value")
	}
	return err
}

// Candidates returns the assets named with the values a runner of
// environment with id runnerID could get.
func (s AssetStore) Candidates(ctx context.Context, names []string, environment, runnerID string) ([]asset.Stored, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+assetColumns+" FROM assets a WHERE a.name_key = ANY($1::text[])", lowered(names))
	if err != nil {
		return nil, fmt.Errorf("read declared assets: %w", err)
	}
	as, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (asset.Stored, error) { return scanAsset(r) })
	if err != nil {
		return nil, fmt.Errorf("read declared assets: %w", err)
	}
	as, err = withValues(ctx, s.pool, as, `AND (v.scope = 'global' OR (v.scope = 'environment' AND v.scope_key = $2)
		OR (v.scope = 'runner' AND v.scope_key = $3))`, environment, strings.ToLower(runnerID))
	if err != nil {
		return nil, fmt.Errorf("read declared assets' values: %w", err)
	}
	return as, nil
}

// Availability tells whether each named asset exists and has a value that
// could reach a job of environment (for targetRunnerID, or any runner of it).
func (s AssetStore) Availability(ctx context.Context, names []string, environment, targetRunnerID string) (map[string]asset.Availability, error) {
	rows, err := s.pool.Query(ctx, `SELECT a.name_key, a.name, EXISTS (SELECT 1 FROM asset_values v WHERE v.asset_id = a.id
			AND (v.scope = 'global' OR (v.scope = 'environment' AND v.scope_key = $2)
				OR (v.scope = 'runner' AND $3 <> '' AND v.scope_key = $3)
				OR (v.scope = 'runner' AND $3 = '' AND v.scope_key IN (SELECT r.id::text FROM runners r WHERE r.environment = $2))))
		FROM assets a WHERE a.name_key = ANY($1::text[])`, lowered(names), environment, targetRunnerID)
	if err != nil {
		return nil, fmt.Errorf("check declared assets: %w", err)
	}
	out := map[string]asset.Availability{}
	var key string
	var av asset.Availability
	_, err = pgx.ForEachRow(rows, []any{&key, &av.Name, &av.HasValue}, func() error {
		out[key] = av
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check declared assets: %w", err)
	}
	return out, nil
}

// HeldJob finds a job whose current attempt (attempt, or any for 0) the
// runner holds, claimed or running, with its package version's assets.
func (s AssetStore) HeldJob(ctx context.Context, runnerID, jobID string, attempt int) (asset.Held, bool, error) {
	var h asset.Held
	err := s.pool.QueryRow(ctx, `SELECT j.attempt, j.package_name, j.package_version,
			coalesce((SELECT p.assets FROM packages p WHERE p.name = j.package_name AND p.version = j.package_version), '{}')
		FROM jobs j WHERE j.id = $1::uuid AND j.runner_id = $2::uuid AND j.status IN ('claimed', 'running')
			AND ($3 = 0 OR j.attempt = $3)`, jobID, runnerID, attempt).Scan(&h.Attempt, &h.Package, &h.Version, &h.Assets)
	if errors.Is(err, pgx.ErrNoRows) {
		return asset.Held{}, false, nil
	}
	if err != nil {
		return asset.Held{}, false, fmt.Errorf("find held job %s: %w", jobID, err)
	}
	return h, true, nil
}

// RecordEvents writes events that go with no change, in one transaction.
func (s AssetStore) RecordEvents(ctx context.Context, evs ...audit.Event) error {
	if len(evs) == 0 {
		return nil
	}
	return s.inTx(ctx, "record asset events", func(tx pgx.Tx) error {
		for _, ev := range evs {
			if err := s.appendEvent(ctx, tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

func lowered(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}
