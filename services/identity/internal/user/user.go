// Package user is the identity domain: users and their roles, passwords,
// sessions, the first-admin bootstrap, and the rules that guard them (the
// last active administrator stays, sign-in attempts are throttled, every
// change is audited in the transaction that makes it).
package user

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
)

// Roles, each including everything of the one before: OPERATOR ⊂ DEVELOPER ⊂ ADMIN.
const (
	RoleOperator  = "OPERATOR"
	RoleDeveloper = "DEVELOPER"
	RoleAdmin     = "ADMIN"
)

// Sources of a user's identity (libs/contract/identity's Source*).
const (
	SourceLocal     = "local"
	SourceDirectory = "directory"
	SourceOIDC      = "oidc"
	SourceService   = "service"
)

// Session lifetimes. They are constants rather than settings because the
// settings file (libs/config) has no identity keys for them yet.
const (
	// IdleTimeout ends a session that has not been used for this long.
	IdleTimeout = 30 * time.Minute
	// AbsoluteTimeout ends every session this long after sign-in.
	AbsoluteTimeout = 12 * time.Hour
	// TouchInterval is how stale a session's last use may be before it is
	// written again, so that busy sessions do not write on every request.
	TouchInterval = time.Minute
)

// User is a user as the store holds it.
type User struct {
	ID           string
	Email        string
	Name         string
	Role         string
	PasswordHash string
	Disabled     bool
	Source       string // SourceLocal, SourceDirectory, SourceOIDC or SourceService
	ExternalID   string // the directory's DN or the provider's subject; "" for local users
	CreatedAt    time.Time
	LastLoginAt  *time.Time
}

// String keeps u's password hash out of logs and %v output.
func (u User) String() string { return fmt.Sprintf("user %s <%s> %s", u.ID, u.Email, u.Role) }

// ActiveAdmin reports whether u counts towards the administrators that must remain.
func (u User) ActiveAdmin() bool { return u.Role == RoleAdmin && !u.Disabled }

// Session is a signed-in session; only the SHA-256 of its token is kept.
type Session struct {
	ID         string
	TokenHash  []byte
	UserID     string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// String keeps s's token hash out of logs and %v output.
func (s Session) String() string { return fmt.Sprintf("session %s of user %s", s.ID, s.UserID) }

// ExpiresAt is when s ends if it is not used again.
func (s Session) ExpiresAt() time.Time {
	idle := s.LastSeenAt.Add(IdleTimeout)
	if abs := s.CreatedAt.Add(AbsoluteTimeout); abs.Before(idle) {
		return abs
	}
	return idle
}

// Cursor is the position after the last user of a page (users are listed by
// creation time, then id).
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// Login is what a successful sign-in changes on the user's row.
type Login struct {
	UserID string
	// VerifiedHash is the hash the password was checked against; the sign-in
	// fails if the password changed in the meantime.
	VerifiedHash string
	// NewHash, when set, replaces the hash (stronger parameters).
	NewHash string
	At      time.Time
}

// Change is what an update does besides writing the row.
type Change struct {
	EndSessions bool
	Event       audit.Event
}

// UpdateFunc changes u, knowing how many active administrators there are
// (counted under a lock that holds until the change commits).
type UpdateFunc func(u *User, activeAdmins int) (Change, error)

// DeleteFunc decides whether u may go and returns the event to record.
type DeleteFunc func(u User, activeAdmins int) (audit.Event, error)

// Store keeps users and sessions. Every method that changes something
// records its audit event in the same transaction. Errors carry errs kinds:
// NotFound for an unknown user, Conflict for a taken email,
// AlreadyBootstrap when bootstrap finds a user.
type Store interface {
	Bootstrapped(ctx context.Context) (bool, error)
	// Bootstrap inserts the first user unless any user exists, serialized
	// across every instance of the service.
	Bootstrap(ctx context.Context, u User, ev audit.Event) error
	CreateUser(ctx context.Context, u User, ev audit.Event) error
	UserByID(ctx context.Context, id string) (User, error)
	UserByEmail(ctx context.Context, email string) (User, error)
	// UserByExternalID returns the user source knows as externalID.
	UserByExternalID(ctx context.Context, source, externalID string) (User, error)
	// ListUsers returns up to limit users after the cursor (nil: from the start).
	ListUsers(ctx context.Context, after *Cursor, limit int) ([]User, error)
	UpdateUser(ctx context.Context, id string, fn UpdateFunc) (User, error)
	DeleteUser(ctx context.Context, id string, fn DeleteFunc) error

	// StartSession records a sign-in; it fails with InvalidCredentials when
	// the user is gone, disabled or has a new password since it was checked.
	StartSession(ctx context.Context, s Session, l Login, ev audit.Event) error
	// SessionByTokenHash returns a session and its user; NotFound when none.
	SessionByTokenHash(ctx context.Context, hash []byte) (Session, User, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	// EndSession deletes a session with ev; NotFound when it is already gone.
	EndSession(ctx context.Context, id string, ev audit.Event) error
	// DeleteSession deletes a session without an event (it expired).
	DeleteSession(ctx context.Context, id string) error
	// DeleteExpiredSessions removes sessions created or last seen before the times given.
	DeleteExpiredSessions(ctx context.Context, createdBefore, seenBefore time.Time) (int64, error)

	// RecordEvent writes an event that goes with no change (a failed sign-in).
	RecordEvent(ctx context.Context, ev audit.Event) error
}

// License tells the active license's admin email; errs.LicenseRequired when none.
type License interface {
	AdminEmail(ctx context.Context) (string, error)
}
