package user

import (
	"context"
	"fmt"

	"github.com/exekra/hub/libs/errs"
)

// CreateServiceAccount creates a service account (ADMIN only): a user of
// source service with no password, which cannot sign in and acts through
// API tokens only. in.Password must be empty.
func (s *Service) CreateServiceAccount(ctx context.Context, in NewUser) (User, error) {
	if err := requireAdmin(ctx); err != nil {
		return User{}, err
	}
	if in.Password != "" {
		return User{}, errs.E(errs.InvalidArgument, "a service account has no password; leave password empty")
	}
	in.Password = "service account placeholder" // passes the policy; never hashed nor kept
	u, err := s.validate(in)
	if err != nil {
		return User{}, err
	}
	u.Source = SourceService
	details := userDetails(u)
	details["source"] = SourceService
	if err := s.Store.CreateUser(ctx, u, event("user.create", u.ID, details)); err != nil {
		return User{}, fmt.Errorf("create service account: %w", err)
	}
	return u, nil
}
