package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/errs"
	"github.com/jackc/pgx/v5"
)

// OIDCLogin is an OpenID Connect sign-in under way.
type OIDCLogin struct {
	Nonce     string
	Verifier  string // the PKCE code verifier
	CreatedAt time.Time
}

// SaveOIDCLogin keeps a sign-in under way by the hash of its state.
func (s *Store) SaveOIDCLogin(ctx context.Context, stateHash []byte, l OIDCLogin) error {
	_, err := s.pool.Exec(ctx, "INSERT INTO oidc_logins (state_hash, nonce, verifier, created_at) VALUES ($1, $2, $3, $4)",
		stateHash, l.Nonce, l.Verifier, l.CreatedAt)
	if err != nil {
		return fmt.Errorf("save OpenID Connect sign-in: %w", err)
	}
	return nil
}

// TakeOIDCLogin deletes and returns the sign-in of a state hash, so it is
// used once; not_found when there is none (never saved, or already used).
func (s *Store) TakeOIDCLogin(ctx context.Context, stateHash []byte) (OIDCLogin, error) {
	var l OIDCLogin
	err := s.pool.QueryRow(ctx, "DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, verifier, created_at", stateHash).
		Scan(&l.Nonce, &l.Verifier, &l.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return OIDCLogin{}, errs.E(errs.NotFound, "no such sign-in under way")
	}
	if err != nil {
		return OIDCLogin{}, fmt.Errorf("take OpenID Connect sign-in: %w", err)
	}
	return l, nil
}

// DeleteOIDCLoginsBefore deletes sign-ins started before t and says how many.
func (s *Store) DeleteOIDCLoginsBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM oidc_logins WHERE created_at < $1", t)
	if err != nil {
		return 0, fmt.Errorf("delete expired OpenID Connect sign-ins: %w", err)
	}
	return tag.RowsAffected(), nil
}
