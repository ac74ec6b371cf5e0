package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/jackc/pgx/v5"
)

const userColumns = "id::text, email, name, role, password_hash, disabled, source, coalesce(external_id, ''), created_at, last_login_at"

// scanUser reads userColumns; times come back in UTC.
func scanUser(row pgx.Row) (user.User, error) {
	var u user.User
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.Disabled, &u.Source, &u.ExternalID, &u.CreatedAt, &u.LastLoginAt); err != nil {
		return user.User{}, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	if u.LastLoginAt != nil {
		t := u.LastLoginAt.UTC()
		u.LastLoginAt = &t
	}
	return u, nil
}

// Bootstrap inserts the first user unless any user exists. The lock makes
// concurrent calls, on any instance, take turns: the first inserts, the
// others find a user.
func (s *Store) Bootstrap(ctx context.Context, u user.User, ev audit.Event) error {
	return s.inTx(ctx, "bootstrap", func(tx pgx.Tx) error {
		if err := lockUsers(ctx, tx); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM users)").Scan(&exists); err != nil {
			return fmt.Errorf("check users: %w", err)
		}
		if exists {
			return user.ErrAlreadyBootstrapped
		}
		return s.insertUser(ctx, tx, u, ev)
	})
}

// CreateUser inserts u; a taken email (in any case) is a conflict.
func (s *Store) CreateUser(ctx context.Context, u user.User, ev audit.Event) error {
	return s.inTx(ctx, "create user", func(tx pgx.Tx) error {
		if err := lockUsers(ctx, tx); err != nil {
			return err
		}
		return s.insertUser(ctx, tx, u, ev)
	})
}

func (s *Store) insertUser(ctx context.Context, tx pgx.Tx, u user.User, ev audit.Event) error {
	source := u.Source
	if source == "" {
		source = user.SourceLocal
	}
	_, err := tx.Exec(ctx, `INSERT INTO users (id, email, name, role, password_hash, disabled, created_at, source, external_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nullif($9, ''))`, u.ID, u.Email, u.Name, u.Role, u.PasswordHash, u.Disabled, u.CreatedAt, source, u.ExternalID)
	if pgCode(err) == uniqueViolation {
		return errEmailTaken
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return s.appendEvent(ctx, tx, ev)
}

// UserByID returns the user with id.
func (s *Store) UserByID(ctx context.Context, id string) (user.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, errNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}

// UserByEmail returns the user with email, in any case.
func (s *Store) UserByEmail(ctx context.Context, email string) (user.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE lower(email) = lower($1)", email))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, errNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("find user by email: %w", err)
	}
	return u, nil
}

// UserByExternalID returns the user source knows as externalID.
func (s *Store) UserByExternalID(ctx context.Context, source, externalID string) (user.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE source = $1 AND external_id = $2", source, externalID))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, errNotFound
	}
	if err != nil {
		return user.User{}, fmt.Errorf("find user by external id: %w", err)
	}
	return u, nil
}

// ListUsers returns up to limit users after the cursor, by creation time then id.
func (s *Store) ListUsers(ctx context.Context, after *user.Cursor, limit int) ([]user.User, error) {
	query := "SELECT " + userColumns + " FROM users ORDER BY created_at, id LIMIT $1"
	args := []any{limit}
	if after != nil {
		query = "SELECT " + userColumns + " FROM users WHERE (created_at, id) > ($2, $3::uuid) ORDER BY created_at, id LIMIT $1"
		args = append(args, after.CreatedAt, after.ID)
	}
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (user.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return users, nil
}

// lockUser takes the users lock, then reads the user with id and counts the
// active administrators; both stay true until the transaction ends.
func lockUser(ctx context.Context, tx pgx.Tx, id string) (user.User, int, error) {
	if err := lockUsers(ctx, tx); err != nil {
		return user.User{}, 0, err
	}
	u, err := scanUser(tx.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1 FOR UPDATE", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return user.User{}, 0, errNotFound
	}
	if err != nil {
		return user.User{}, 0, fmt.Errorf("read user %s: %w", id, err)
	}
	var admins int
	err = tx.QueryRow(ctx, "SELECT count(*) FROM users WHERE role = $1 AND NOT disabled", user.RoleAdmin).Scan(&admins)
	if err != nil {
		return user.User{}, 0, fmt.Errorf("count administrators: %w", err)
	}
	return u, admins, nil
}

// UpdateUser lets fn change the user with id, then writes it, ends its
// sessions when fn says so, and records fn's event, all in one transaction.
func (s *Store) UpdateUser(ctx context.Context, id string, fn user.UpdateFunc) (user.User, error) {
	var out user.User
	err := s.inTx(ctx, "update user", func(tx pgx.Tx) error {
		u, admins, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		change, err := fn(&u, admins)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE users SET name = $2, role = $3, disabled = $4, password_hash = $5, email = $6 WHERE id = $1`,
			u.ID, u.Name, u.Role, u.Disabled, u.PasswordHash, u.Email)
		if pgCode(err) == uniqueViolation {
			return errEmailTaken
		}
		if err != nil {
			return fmt.Errorf("write user: %w", err)
		}
		if change.EndSessions {
			if _, err := tx.Exec(ctx, "DELETE FROM sessions WHERE user_id = $1", u.ID); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		out = u
		return s.appendEvent(ctx, tx, change.Event)
	})
	return out, err
}

// DeleteUser deletes the user with id (its sessions go with it) if fn agrees.
func (s *Store) DeleteUser(ctx context.Context, id string, fn user.DeleteFunc) error {
	return s.inTx(ctx, "delete user", func(tx pgx.Tx) error {
		u, admins, err := lockUser(ctx, tx, id)
		if err != nil {
			return err
		}
		ev, err := fn(u, admins)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = $1", u.ID); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return s.appendEvent(ctx, tx, ev)
	})
}
