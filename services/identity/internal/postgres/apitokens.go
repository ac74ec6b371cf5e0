package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/identity/internal/apitoken"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/jackc/pgx/v5"
)

var _ apitoken.Store = (*Store)(nil)

var errTokenGone = errs.E(errs.NotFound, "no API token has this id")

const tokenColumns = `t.id::text, t.user_id::text, u.email, t.name, t.prefix, t.scopes, t.created_at, t.expires_at,
	t.last_used_at, t.last_used_ip, t.revoked_at`

func scanToken(row pgx.Row, extra ...any) (apitoken.Token, error) {
	var t apitoken.Token
	dest := append([]any{&t.ID, &t.UserID, &t.UserEmail, &t.Name, &t.Prefix, &t.Scopes, &t.CreatedAt, &t.ExpiresAt,
		&t.LastUsedAt, &t.LastUsedIP, &t.RevokedAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return t, err
	}
	t.CreatedAt, t.ExpiresAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC()
	t.LastUsedAt, t.RevokedAt = utcPtr(t.LastUsedAt), utcPtr(t.RevokedAt)
	return t, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateToken inserts t and records ev in one transaction.
func (s *Store) CreateToken(ctx context.Context, t apitoken.Token, hash []byte, ev audit.Event) error {
	return s.inTx(ctx, "create api token", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, user_id, name, token_hash, prefix, scopes, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, t.ID, t.UserID, t.Name, hash, t.Prefix, t.Scopes, t.CreatedAt, t.ExpiresAt)
		if pgCode(err) == foreignKeyViolation {
			return errNotFound
		}
		if err != nil {
			return fmt.Errorf("insert api token: %w", err)
		}
		return s.appendEvent(ctx, tx, ev)
	})
}

// TokenByHash returns the token with hash and its owner as it is now.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (apitoken.Token, user.User, error) {
	var u user.User
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenColumns+`, u.name, u.role, u.disabled, u.source, u.created_at, u.last_login_at
		FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1`, hash),
		&u.Name, &u.Role, &u.Disabled, &u.Source, &u.CreatedAt, &u.LastLoginAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return apitoken.Token{}, user.User{}, errTokenGone
	}
	if err != nil {
		return apitoken.Token{}, user.User{}, fmt.Errorf("find api token: %w", err)
	}
	u.ID, u.Email, u.CreatedAt, u.LastLoginAt = t.UserID, t.UserEmail, u.CreatedAt.UTC(), utcPtr(u.LastLoginAt)
	return t, u, nil
}

// TokenByID returns the token with id.
func (s *Store) TokenByID(ctx context.Context, id string) (apitoken.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return apitoken.Token{}, errTokenGone
	}
	if err != nil {
		return apitoken.Token{}, fmt.Errorf("find api token %s: %w", id, err)
	}
	return t, nil
}

// ListTokens returns up to limit tokens of userID ("" for all) after the cursor.
func (s *Store) ListTokens(ctx context.Context, userID string, after *user.Cursor, limit int) ([]apitoken.Token, error) {
	query := "SELECT " + tokenColumns + " FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE ($1 = '' OR t.user_id::text = $1)"
	args := []any{userID, limit}
	if after != nil {
		query += " AND (t.created_at, t.id) > ($3, $4::uuid)"
		args = append(args, after.CreatedAt, after.ID)
	}
	rows, err := s.pool.Query(ctx, query+" ORDER BY t.created_at, t.id LIMIT $2", args...)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (apitoken.Token, error) { return scanToken(r) })
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	return out, nil
}

// RevokeToken sets revoked_at once and records the event of the first revocation.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time, ev func(apitoken.Token) audit.Event) (apitoken.Token, error) {
	var t apitoken.Token
	err := s.inTx(ctx, "revoke api token", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL", id, at)
		if err != nil {
			return fmt.Errorf("revoke: %w", err)
		}
		t, err = scanToken(tx.QueryRow(ctx, "SELECT "+tokenColumns+" FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errTokenGone
		}
		if err != nil {
			return fmt.Errorf("read revoked token: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return nil // revoked before: nothing changed, nothing to record
		}
		return s.appendEvent(ctx, tx, ev(t))
	})
	return t, err
}

// TouchToken records a use at at from ip.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time, ip string) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2, last_used_ip = $3
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, at, ip); err != nil {
		return fmt.Errorf("touch api token %s: %w", id, err)
	}
	return nil
}
