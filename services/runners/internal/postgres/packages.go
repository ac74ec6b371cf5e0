package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	contract "github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/packages"
	"github.com/jackc/pgx/v5"
)

// PackageStore reads and writes package metadata in the runners schema.
type PackageStore struct{ *Store }

var _ packages.Store = PackageStore{}

// Packages is the package store on the same pool and outbox.
func (s *Store) Packages() PackageStore { return PackageStore{s} }

// RecordPackage inserts p and records ev; an existing name and version is a conflict.
func (s PackageStore) RecordPackage(ctx context.Context, p packages.Package, ev audit.Event) error {
	params, err := encodeParameters(p.Parameters)
	if err != nil {
		return fmt.Errorf("record package %s %s: %w", p.Name, p.Version, err)
	}
	err = s.inTx(ctx, "record package", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO packages (name, version, sha256, size_bytes, published_by, published_at, parameters, assets)
			VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8)`, p.Name, p.Version, p.SHA256, p.SizeBytes, p.PublishedBy, p.PublishedAt,
			params, declaredAssets(p.Assets))
		if err != nil {
			return err
		}
		return s.appendEvent(ctx, tx, ev)
	})
	if pgCode(err) == uniqueViolation {
		return errs.Ef(errs.Conflict, "package %q version %q is already published; packages are immutable, publish a new version", p.Name, p.Version)
	}
	return err
}

// PackageNames returns up to limit names after after, in order.
func (s PackageStore) PackageNames(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT name FROM packages WHERE name > $1 ORDER BY name LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list package names: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list package names: %w", err)
	}
	return names, nil
}

// PackageVersions returns every version of the names.
func (s PackageStore) PackageVersions(ctx context.Context, names ...string) ([]packages.Package, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, version, sha256, size_bytes, published_by, published_at, parameters,
		coalesce(assets, '{}') FROM packages WHERE name = ANY($1::text[])`, names)
	if err != nil {
		return nil, fmt.Errorf("list package versions: %w", err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (packages.Package, error) {
		var p packages.Package
		var params []byte
		if err := r.Scan(&p.Name, &p.Version, &p.SHA256, &p.SizeBytes, &p.PublishedBy, &p.PublishedAt, &params, &p.Assets); err != nil {
			return p, err
		}
		p.PublishedAt = p.PublishedAt.UTC()
		var err error
		p.Parameters, err = decodeParameters(params)
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("list package versions: %w", err)
	}
	return ps, nil
}

// HeldPackage finds the package of a claimed or running job of runnerID.
func (s PackageStore) HeldPackage(ctx context.Context, runnerID, name, version string) (string, int64, bool, error) {
	var sha string
	var size int64
	err := s.pool.QueryRow(ctx, `SELECT package_sha256, package_size FROM jobs
		WHERE runner_id = $1::uuid AND package_name = $2 AND package_version = $3 AND status IN ('claimed', 'running')
		LIMIT 1`, runnerID, name, version).Scan(&sha, &size)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("find held package: %w", err)
	}
	return sha, size, true, nil
}

// encodeParameters is the parameters column of a declaration: NULL (nil)
// when the manifest declares none, else the JSON array.
func encodeParameters(ps []contract.Parameter) (*string, error) {
	if ps == nil {
		return nil, nil
	}
	data, err := json.Marshal(ps)
	if err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	s := string(data)
	return &s, nil
}

// decodeParameters reads the parameters column: nil for NULL, a non-nil
// slice (perhaps empty) for an array.
func decodeParameters(data []byte) ([]contract.Parameter, error) {
	if data == nil {
		return nil, nil
	}
	ps := []contract.Parameter{}
	if err := json.Unmarshal(data, &ps); err != nil {
		return nil, fmt.Errorf("decode parameters: %w", err)
	}
	return ps, nil
}

// declaredAssets is the assets column of a declaration: NULL when none.
func declaredAssets(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	return names
}
