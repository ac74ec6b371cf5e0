package user

import (
	"context"
	"strings"

	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// NewUser is what a user is created from.
type NewUser struct {
	Email    string
	Password string
	Name     string
	Role     string // OPERATOR when empty
}

// validate checks in and returns the user it describes, without a password hash.
func (s *Service) validate(in NewUser) (User, error) {
	email, errEmail := NormalizeEmail(in.Email)
	name, errName := NormalizeName(in.Name)
	if in.Role == "" {
		in.Role = RoleOperator
	}
	if err := firstError(errEmail, errName, CheckRole(in.Role), CheckPassword(in.Password)); err != nil {
		return User{}, err
	}
	return User{ID: uuid.NewString(), Email: email, Name: name, Role: in.Role, Source: SourceLocal, CreatedAt: s.now()}, nil
}

// firstError returns the first error that is not nil.
func firstError(errList ...error) error {
	for _, err := range errList {
		if err != nil {
			return err
		}
	}
	return nil
}

// Bootstrap creates the first administrator: only while a license is active
// and no user exists, and only with the license's admin email. Of concurrent
// calls exactly one succeeds; the store decides under a database lock.
func (s *Service) Bootstrap(ctx context.Context, in NewUser) (User, error) {
	done, err := s.Store.Bootstrapped(ctx)
	if err != nil {
		return User{}, err
	}
	if done {
		return User{}, ErrAlreadyBootstrapped
	}
	adminEmail, err := s.License.AdminEmail(ctx)
	if err != nil {
		return User{}, err // license_required passes through as it is
	}
	in.Role = RoleAdmin
	u, err := s.validate(in)
	if err != nil {
		return User{}, err
	}
	if !strings.EqualFold(u.Email, strings.TrimSpace(adminEmail)) {
		return User{}, errs.E(errs.EmailMismatch, "the email must be the admin email of the active license")
	}
	if u.PasswordHash, err = s.Hasher.Hash(ctx, in.Password); err != nil {
		return User{}, err
	}
	ev := event("setup.bootstrap", u.ID, userDetails(u))
	if err := s.Store.Bootstrap(ctx, u, ev); err != nil {
		return User{}, err
	}
	return u, nil
}

// ErrAlreadyBootstrapped refuses a bootstrap once any user exists.
var ErrAlreadyBootstrapped = errs.E(errs.AlreadyBootstrap, "the Hub already has users; sign in instead")
