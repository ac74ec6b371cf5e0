package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/jackc/pgx/v5"
)

const licenseColumns = "document, file, signature, activated_at, last_validated_at"

func scanLicense(row pgx.Row) (license.License, error) {
	var l license.License
	var doc []byte
	if err := row.Scan(&doc, &l.File, &l.Signature, &l.ActivatedAt, &l.LastValidatedAt); err != nil {
		return l, err
	}
	if err := json.Unmarshal(doc, &l.Document); err != nil {
		return l, fmt.Errorf("decode stored license document: %w", err)
	}
	return l, nil
}

// ActiveLicense returns the license in force, or license.ErrNoLicense.
func (s *Store) ActiveLicense(ctx context.Context) (license.License, error) {
	l, err := scanLicense(s.pool.QueryRow(ctx, "SELECT "+licenseColumns+" FROM licenses WHERE active"))
	if errors.Is(err, pgx.ErrNoRows) {
		return l, license.ErrNoLicense
	}
	if err != nil {
		return l, fmt.Errorf("read active license: %w", err)
	}
	return l, nil
}

// ReplaceLicense makes fn's license the active one under a transaction-wide
// advisory lock, so concurrent activations see each other's result.
func (s *Store) ReplaceLicense(ctx context.Context, fn func(ctx context.Context, current *license.License) (license.License, audit.Event, error)) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('exekra.licensing.activate'))"); err != nil {
			return fmt.Errorf("lock licenses: %w", err)
		}
		var current *license.License
		cur, err := scanLicense(tx.QueryRow(ctx, "SELECT "+licenseColumns+" FROM licenses WHERE active"))
		switch {
		case err == nil:
			current = &cur
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("read active license: %w", err)
		}
		next, ev, err := fn(ctx, current)
		if err != nil {
			return err
		}
		return s.insertActive(ctx, tx, next, ev)
	})
}

func (s *Store) insertActive(ctx context.Context, tx pgx.Tx, l license.License, ev audit.Event) error {
	doc, err := json.Marshal(l.Document)
	if err != nil {
		return fmt.Errorf("encode license document: %w", err)
	}
	if _, err := tx.Exec(ctx, "UPDATE licenses SET active = false WHERE active"); err != nil {
		return fmt.Errorf("deactivate license: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO licenses (id, license_id, document, signature, file, activated_at, last_validated_at, active)
		VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, true)`,
		l.Document.LicenseID, doc, l.Signature, l.File, l.ActivatedAt.UTC().Truncate(time.Microsecond), l.LastValidatedAt); err != nil {
		return fmt.Errorf("store license: %w", err)
	}
	return s.append(ctx, tx, &ev)
}

// PriorActivation returns when licenseID was first activated and last validated, or nil.
func (s *Store) PriorActivation(ctx context.Context, licenseID string) (*license.License, error) {
	var first, validated *time.Time
	if err := s.pool.QueryRow(ctx, "SELECT min(activated_at), max(last_validated_at) FROM licenses WHERE license_id = $1",
		licenseID).Scan(&first, &validated); err != nil {
		return nil, fmt.Errorf("read prior activation: %w", err)
	}
	if first == nil {
		return nil, nil
	}
	return &license.License{ActivatedAt: *first, LastValidatedAt: validated}, nil
}
