package postgres

import (
	"context"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/jackc/pgx/v5"
)

var _ user.DirectorySessions = (*Store)(nil)

// SignedInUsers returns the enabled users of source that have a session.
func (s *Store) SignedInUsers(ctx context.Context, source string) ([]user.User, error) {
	rows, err := s.pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE source = $1 AND NOT disabled"+
		" AND EXISTS (SELECT 1 FROM sessions WHERE sessions.user_id = users.id) ORDER BY id", source)
	if err != nil {
		return nil, fmt.Errorf("list signed-in %s users: %w", source, err)
	}
	users, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (user.User, error) { return scanUser(row) })
	if err != nil {
		return nil, fmt.Errorf("list signed-in %s users: %w", source, err)
	}
	return users, nil
}

// EndUserSessions deletes every session of userID and records ev when there was any.
func (s *Store) EndUserSessions(ctx context.Context, userID string, ev audit.Event) (int64, error) {
	var n int64
	err := s.inTx(ctx, "end user's sessions", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM sessions WHERE user_id = $1", userID)
		if err != nil {
			return fmt.Errorf("delete sessions: %w", err)
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		return s.appendEvent(ctx, tx, ev)
	})
	return n, err
}

// Exclusively runs fn holding the session-level advisory lock name, unless
// another instance holds it; it reports whether fn ran.
func (s *Store) Exclusively(ctx context.Context, name string, fn func(context.Context) error) (bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtext($1))", name).Scan(&got); err != nil {
		return false, fmt.Errorf("lock %s: %w", name, err)
	}
	if !got {
		return false, nil
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name); err != nil {
			conn.Conn().Close(context.WithoutCancel(ctx)) // closing the connection frees the lock
		}
	}()
	return true, fn(ctx)
}
