package user

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
)

// Directory checks users against an LDAP directory or Active Directory:
// the Hub never keeps their password.
type Directory interface {
	// Authenticate finds the user login names and checks password with a
	// bind as them. Errors wrap one of the ErrDirectory* below.
	Authenticate(ctx context.Context, login, password string) (DirectoryUser, error)
	// Lookup reads the user with DN dn again, with the service account.
	Lookup(ctx context.Context, dn string) (DirectoryUser, error)
	// Name names the directory (its host) in the audit log.
	Name() string
}

// DirectoryUser is a user as the directory knows them now.
type DirectoryUser struct {
	DN    string
	Email string
	Name  string
	Role  string // the highest role of their mapped groups, or the default role
}

// What went wrong with a directory: a Directory's errors wrap one of these.
var (
	ErrDirectoryUnknownUser   = errors.New("no such user in the directory (or disabled there)")
	ErrDirectoryWrongPassword = errors.New("the directory refused the password")
	ErrDirectoryNoGroup       = errors.New("the user is in no mapped group of the directory")
	ErrDirectoryUnreachable   = errors.New("the directory is unreachable")
)

// Reasons of refused directory sign-ins and ended directory sessions in the audit log.
const (
	reasonUnknownUser    = "unknown_user"
	reasonNoMappedGroup  = "not_in_a_mapped_group"
	reasonDirectoryDown  = "directory_unreachable"
	reasonDirectoryGone  = "directory_user_gone"
	directoryUnreachable = "the directory is unreachable; local accounts can still sign in"
)

// directoryLogin signs in a user the directory knows as login. The caller
// already took the throttle's tokens; a success gives them back.
func (s *Service) directoryLogin(ctx context.Context, now time.Time, buckets []Bucket, login, password string) (Issued, error) {
	ext := External{Source: SourceDirectory, Email: login, Provider: s.Directory.Name()}
	du, err := s.Directory.Authenticate(ctx, login, password)
	if err != nil {
		reason, refusal := directoryRefusal(err)
		if reason == reasonDirectoryDown {
			s.Log.WarnContext(ctx, "directory sign-in", "directory", ext.Provider, "err", err)
		}
		return Issued{}, s.externalFailed(ctx, ext, User{}, reason, refusal)
	}
	ext.ExternalID, ext.Email, ext.Name, ext.Role = du.DN, du.Email, du.Name, du.Role
	in, err := s.SignInExternal(ctx, ext)
	if err != nil {
		return Issued{}, err
	}
	if err := s.Limiter.Give(ctx, now, buckets); err != nil {
		s.Log.WarnContext(ctx, "give back sign-in attempt", "user_id", in.User.ID, "err", err)
	}
	return in, nil
}

// directoryRefusal is the audit reason of a directory's error and what the
// caller is told: an unknown user and a wrong password look the same.
func directoryRefusal(err error) (string, error) {
	switch {
	case errors.Is(err, ErrDirectoryUnknownUser):
		return reasonUnknownUser, errInvalidCredentials
	case errors.Is(err, ErrDirectoryWrongPassword):
		return reasonWrongPassword, errInvalidCredentials
	case errors.Is(err, ErrDirectoryNoGroup):
		return reasonNoMappedGroup, errs.E(errs.PermissionDenied,
			"your directory account is in none of the groups that give a role in the Hub; ask an administrator")
	default:
		return reasonDirectoryDown, errs.Wrap(errs.Unavailable, directoryUnreachable, err)
	}
}

// DirectorySessions is what the directory re-check needs of the store.
type DirectorySessions interface {
	// SignedInUsers returns the enabled users of source that have a session.
	SignedInUsers(ctx context.Context, source string) ([]User, error)
	// EndUserSessions deletes every session of userID and records ev.
	EndUserSessions(ctx context.Context, userID string, ev audit.Event) (int64, error)
	// Exclusively runs fn unless another instance holds the lock named
	// name; it reports whether fn ran.
	Exclusively(ctx context.Context, name string, fn func(context.Context) error) (bool, error)
}

// recheckLock names the lock that lets one instance re-check at a time.
const recheckLock = "exekra.identity.directory_recheck"

// RecheckDirectory looks every signed-in directory user up again every
// interval until ctx ends: one no longer in the directory (or disabled
// there) or in no mapped group loses their sessions, one with a new role
// gets it (which ends their sessions too). While the directory is
// unreachable, sessions stay and the next interval tries again.
func (s *Service) RecheckDirectory(ctx context.Context, store DirectorySessions, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := store.Exclusively(ctx, recheckLock, func(ctx context.Context) error {
			return s.recheckDirectory(ctx, store)
		}); err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "re-check directory users; trying again at the next interval", "err", err)
		}
	}
}

// recheckDirectory is one sweep; it stops at the first unreachable lookup.
func (s *Service) recheckDirectory(ctx context.Context, store DirectorySessions) error {
	users, err := store.SignedInUsers(ctx, SourceDirectory)
	if err != nil {
		return err
	}
	for _, u := range users {
		du, err := s.Directory.Lookup(ctx, u.ExternalID)
		switch {
		case errors.Is(err, ErrDirectoryUnknownUser):
			err = s.endDirectorySessions(ctx, store, u, reasonDirectoryGone)
		case errors.Is(err, ErrDirectoryNoGroup):
			err = s.endDirectorySessions(ctx, store, u, reasonNoMappedGroup)
		case err != nil:
			return fmt.Errorf("look up %s: %w", u, err)
		default:
			_, err = s.syncExternal(ctx, u, External{Source: SourceDirectory, ExternalID: du.DN,
				Email: du.Email, Name: du.Name, Role: du.Role, Provider: s.Directory.Name()})
		}
		if err != nil && ctx.Err() == nil {
			s.Log.WarnContext(ctx, "re-check directory user", "user_id", u.ID, "err", err)
		}
	}
	return nil
}

// endDirectorySessions ends u's sessions because the directory no longer
// vouches for them.
func (s *Service) endDirectorySessions(ctx context.Context, store DirectorySessions, u User, reason string) error {
	ev := event("auth.session.end", u.ID, map[string]any{"source": SourceDirectory, "provider": s.Directory.Name()})
	ev.Reason = reason
	ev.Actor = audit.Actor{Type: audit.ActorSystem, ID: "identity"}
	n, err := store.EndUserSessions(ctx, u.ID, ev)
	if err != nil {
		return fmt.Errorf("end sessions of %s: %w", u, err)
	}
	if n > 0 {
		s.Log.InfoContext(ctx, "ended sessions of a directory user", "user_id", u.ID, "reason", reason, "count", n)
		s.sessionsChanged(ctx, u.ID)
	}
	return nil
}
