package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/jackc/pgx/v5"
)

// StartSession records a sign-in in one transaction: last_login_at (and a
// new hash when given) on the user's row, the session, and the event. The
// row is only touched if it still has the hash the password was checked
// against and is enabled; otherwise the sign-in fails as invalid credentials.
func (s *Store) StartSession(ctx context.Context, sess user.Session, l user.Login, ev audit.Event) error {
	return s.inTx(ctx, "start session", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE users SET last_login_at = $2, password_hash = COALESCE(NULLIF($4, ''), password_hash)
			WHERE id = $1 AND password_hash = $3 AND NOT disabled`, l.UserID, l.At, l.VerifiedHash, l.NewHash)
		if err != nil {
			return fmt.Errorf("record sign-in: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return errUserChanged
		}
		_, err = tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at)
			VALUES ($1, $2, $3, $4, $5)`, sess.ID, sess.TokenHash, sess.UserID, sess.CreatedAt, sess.LastSeenAt)
		if pgCode(err) == foreignKeyViolation {
			return errUserChanged
		}
		if err != nil {
			return fmt.Errorf("insert session: %w", err)
		}
		return s.appendEvent(ctx, tx, ev)
	})
}

// SessionByTokenHash returns the session with the token hash and its user.
func (s *Store) SessionByTokenHash(ctx context.Context, hash []byte) (user.Session, user.User, error) {
	row := s.pool.QueryRow(ctx, `SELECT s.id::text, s.created_at, s.last_seen_at,
			u.id::text, u.email, u.name, u.role, u.password_hash, u.disabled, u.source, coalesce(u.external_id, ''), u.created_at, u.last_login_at
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1`, hash)
	var sess user.Session
	var u user.User
	err := row.Scan(&sess.ID, &sess.CreatedAt, &sess.LastSeenAt,
		&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &u.Source, &u.ExternalID, &u.CreatedAt, &u.LastLoginAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return user.Session{}, user.User{}, errSessionGone
	}
	if err != nil {
		return user.Session{}, user.User{}, fmt.Errorf("find session: %w", err)
	}
	sess.TokenHash, sess.UserID = hash, u.ID
	sess.CreatedAt, sess.LastSeenAt, u.CreatedAt = sess.CreatedAt.UTC(), sess.LastSeenAt.UTC(), u.CreatedAt.UTC()
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		u.LastLoginAt = &t
	}
	return sess, u, nil
}

// TouchSession moves the session's last use forward to at.
func (s *Store) TouchSession(ctx context.Context, id string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, "UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2", id, at); err != nil {
		return fmt.Errorf("touch session %s: %w", id, err)
	}
	return nil
}

// EndSession deletes the session with id and records ev.
func (s *Store) EndSession(ctx context.Context, id string, ev audit.Event) error {
	return s.inTx(ctx, "end session", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id)
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return errSessionGone
		}
		return s.appendEvent(ctx, tx, ev)
	})
}

// DeleteSession deletes the session with id, if it is still there.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete session %s: %w", id, err)
	}
	return nil
}

// DeleteExpiredSessions deletes sessions created before createdBefore or
// last used before seenBefore, and says how many.
func (s *Store) DeleteExpiredSessions(ctx context.Context, createdBefore, seenBefore time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM sessions WHERE created_at < $1 OR last_seen_at < $2", createdBefore, seenBefore)
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return tag.RowsAffected(), nil
}
