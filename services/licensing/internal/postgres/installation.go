package postgres

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/licensing/internal/license"
	"github.com/jackc/pgx/v5"
)

// EnsureInstallation stores candidate unless an installation exists (another
// instance may have made it first) and returns the stored one.
func (s *Store) EnsureInstallation(ctx context.Context, candidate license.Installation, now time.Time) (license.Installation, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO installation (installation_id, private_key, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (singleton) DO NOTHING`, candidate.ID, []byte(candidate.Key.Seed()), now); err != nil {
		return license.Installation{}, fmt.Errorf("create installation: %w", err)
	}
	var inst license.Installation
	var seed []byte
	if err := s.pool.QueryRow(ctx, "SELECT installation_id::text, private_key FROM installation").Scan(&inst.ID, &seed); err != nil {
		return inst, fmt.Errorf("read installation: %w", err)
	}
	if len(seed) != ed25519.SeedSize {
		return inst, fmt.Errorf("read installation: the stored key is %d bytes, not an Ed25519 seed", len(seed))
	}
	inst.Key = ed25519.NewKeyFromSeed(seed)
	return inst, nil
}

// Clock returns the clock state.
func (s *Store) Clock(ctx context.Context) (license.ClockState, error) {
	var c license.ClockState
	err := s.pool.QueryRow(ctx, "SELECT highest_seen, rollback_since FROM clock_state").Scan(&c.HighestSeen, &c.RollbackSince)
	if err != nil {
		return c, fmt.Errorf("read clock state: %w", err)
	}
	return c, nil
}

// UpdateClock applies fn under a row lock and writes the new state and fn's event.
func (s *Store) UpdateClock(ctx context.Context, fn func(license.ClockState) (license.ClockState, *audit.Event)) (license.ClockState, error) {
	var next license.ClockState
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var c license.ClockState
		if err := tx.QueryRow(ctx, "SELECT highest_seen, rollback_since FROM clock_state FOR UPDATE").
			Scan(&c.HighestSeen, &c.RollbackSince); err != nil {
			return fmt.Errorf("lock clock state: %w", err)
		}
		var ev *audit.Event
		next, ev = fn(c)
		if next.HighestSeen.Equal(c.HighestSeen) && sameTime(next.RollbackSince, c.RollbackSince) && ev == nil {
			return nil
		}
		if _, err := tx.Exec(ctx, "UPDATE clock_state SET highest_seen = $1, rollback_since = $2",
			next.HighestSeen, next.RollbackSince); err != nil {
			return fmt.Errorf("write clock state: %w", err)
		}
		return s.append(ctx, tx, ev)
	})
	return next, err
}

func sameTime(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

// validationLock names the advisory lock held while validating with the portal.
const validationLock = "exekra.licensing.validate"

// WithValidationLock runs fn holding a session advisory lock on one
// connection; without wait it gives up at once when another holds it.
func (s *Store) WithValidationLock(ctx context.Context, wait bool, fn func(ctx context.Context) error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("validation lock: %w", err)
	}
	defer conn.Release()
	got := true
	if wait {
		_, err = conn.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", validationLock)
	} else {
		err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", validationLock).Scan(&got)
	}
	if err != nil {
		return false, fmt.Errorf("validation lock: %w", err)
	}
	if !got {
		return false, nil
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", validationLock)
	return true, fn(ctx)
}
