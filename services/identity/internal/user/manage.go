package user

import (
	"context"
	"fmt"

	"github.com/exekra/hub/libs/errs"
)

// CreateUser creates a user (ADMIN only).
func (s *Service) CreateUser(ctx context.Context, in NewUser) (User, error) {
	if err := requireAdmin(ctx); err != nil {
		return User{}, err
	}
	u, err := s.validate(in)
	if err != nil {
		return User{}, err
	}
	if u.PasswordHash, err = s.Hasher.Hash(ctx, in.Password); err != nil {
		return User{}, err
	}
	if err := s.Store.CreateUser(ctx, u, event("user.create", u.ID, userDetails(u))); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// GetUser returns one user (ADMIN only).
func (s *Service) GetUser(ctx context.Context, id string) (User, error) {
	if err := firstError(requireAdmin(ctx), checkID(id)); err != nil {
		return User{}, err
	}
	return s.Store.UserByID(ctx, id)
}

// Page is one page of users and the cursor of the next ("" after the last).
type Page struct {
	Users      []User
	NextCursor string
}

// DefaultPageSize and MaxPageSize bound ListUsers.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ListUsers pages through users by creation time (ADMIN only); limit 0 means
// DefaultPageSize.
func (s *Service) ListUsers(ctx context.Context, limit int, cursor string) (Page, error) {
	if err := requireAdmin(ctx); err != nil {
		return Page{}, err
	}
	if limit == 0 {
		limit = DefaultPageSize
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d", MaxPageSize)
	}
	after, err := DecodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	users, err := s.Store.ListUsers(ctx, after, limit+1)
	if err != nil {
		return Page{}, err
	}
	page := Page{Users: users}
	if len(users) > limit {
		page.Users = users[:limit]
		last := page.Users[limit-1]
		page.NextCursor = EncodeCursor(Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}
