package user

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// External is a user as a directory or an OpenID Connect provider vouches
// for them, after it checked their password or their token: the Hub keeps no
// password for them.
type External struct {
	Source     string // SourceDirectory or SourceOIDC
	ExternalID string // the directory's DN, or the provider's issuer and subject
	Email      string
	Name       string
	Role       string // already mapped from the user's groups or claims
	Provider   string // names the directory or provider in the audit log
}

// Reasons of refused external sign-ins in the audit log.
const (
	reasonEmailTaken = "email_taken_by_another_account"
	reasonNoEmail    = "no_email"
)

// SignInExternal signs in a user a directory or provider vouched for: it
// creates their account at the first sign-in, brings email, name and role up
// to date at every one (a new role ends their other sessions), and starts a
// session. A user an administrator disabled in the Hub stays refused. An
// email another account already uses is refused rather than linked: linking
// would hand that account to whoever controls the directory entry.
func (s *Service) SignInExternal(ctx context.Context, ext External) (Issued, error) {
	now := s.now()
	email, err := NormalizeEmail(ext.Email)
	if err != nil {
		return Issued{}, s.externalFailed(ctx, ext, User{}, reasonNoEmail,
			errs.E(errs.PermissionDenied, "the directory or provider gave no usable email for this user; ask an administrator"))
	}
	ext.Email, ext.Name = email, Truncate(strings.TrimSpace(ext.Name), MaxNameLen)
	if ext.Name == "" {
		ext.Name = email
	}
	u, err := s.Store.UserByExternalID(ctx, ext.Source, ext.ExternalID)
	switch {
	case errs.Is(err, errs.NotFound):
		u, err = s.createExternal(ctx, ext, now)
	case err != nil:
		return Issued{}, fmt.Errorf("sign in %s user: %w", ext.Source, err)
	case u.Disabled:
		return Issued{}, s.externalFailed(ctx, ext, u, reasonDisabled, errInvalidCredentials)
	default:
		u, err = s.syncExternal(ctx, u, ext)
	}
	if errs.Is(err, errs.Conflict) {
		return Issued{}, s.externalFailed(ctx, ext, u, reasonEmailTaken,
			errs.E(errs.Conflict, "another account of the Hub already uses this email; an administrator must remove or rename it first"))
	}
	if err != nil {
		return Issued{}, err
	}
	return s.startSession(ctx, now, u, "", false, ext.Source)
}

func (s *Service) createExternal(ctx context.Context, ext External, now time.Time) (User, error) {
	u := User{ID: uuid.NewString(), Email: ext.Email, Name: ext.Name, Role: ext.Role, Source: ext.Source,
		ExternalID: ext.ExternalID, CreatedAt: now}
	details := userDetails(u)
	details["source"], details["provider"] = ext.Source, ext.Provider
	ev := event("user.create", u.ID, details)
	ev.Actor = actorOf(u)
	if err := s.Store.CreateUser(ctx, u, ev); err != nil {
		return User{}, fmt.Errorf("create %s user: %w", ext.Source, err)
	}
	return u, nil
}

// syncExternal writes what the directory or provider says of u now.
func (s *Service) syncExternal(ctx context.Context, u User, ext External) (User, error) {
	if u.Email == ext.Email && u.Name == ext.Name && u.Role == ext.Role {
		return u, nil
	}
	oldRole := u.Role
	out, err := s.Store.UpdateUser(ctx, u.ID, func(cur *User, _ int) (Change, error) {
		before := userDetails(*cur)
		cur.Email, cur.Name, cur.Role = ext.Email, ext.Name, ext.Role
		details := map[string]any{"before": before, "after": userDetails(*cur), "source": ext.Source, "provider": ext.Provider}
		ev := event("user.update", cur.ID, details)
		ev.Actor = actorOf(*cur)
		return Change{EndSessions: cur.Role != oldRole, Event: ev}, nil
	})
	if err != nil {
		return u, fmt.Errorf("update %s user %s: %w", ext.Source, u.ID, err)
	}
	if out.Role != oldRole {
		s.sessionsChanged(ctx, out.ID)
	}
	return out, nil
}

// externalFailed records a refused external sign-in and returns err.
func (s *Service) externalFailed(ctx context.Context, ext External, u User, reason string, err error) error {
	return s.refuseSignIn(ctx, ext.Email, u, reason, map[string]any{"source": ext.Source, "provider": ext.Provider}, err)
}

// RecordExternalFailure records a sign-in a provider could not vouch for (a
// bad state, an invalid ID token, no mapped role...) as a refused auth.login
// with reason, and detail (such as a token verifier's reason) when not
// empty; it returns err.
func (s *Service) RecordExternalFailure(ctx context.Context, ext External, reason, detail string, err error) error {
	details := map[string]any{"source": ext.Source, "provider": ext.Provider}
	if detail != "" {
		details["detail"] = Truncate(detail, 300)
	}
	if ext.ExternalID != "" {
		details["external_id"] = Truncate(ext.ExternalID, 300)
	}
	return s.refuseSignIn(ctx, ext.Email, User{}, reason, details, err)
}
