package user

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/tokenbucket"
)

// Bucket is a token bucket: at most Burst tokens, one more every Per.
type Bucket = tokenbucket.Bucket

// Limiter keeps token buckets (shared by every instance of the service).
type Limiter interface {
	// Take takes one token from every bucket, or from none when any is empty;
	// then it returns how long until all have one again.
	Take(ctx context.Context, now time.Time, buckets []Bucket) (wait time.Duration, err error)
	// Give puts one token back into every bucket (never above Burst).
	Give(ctx context.Context, now time.Time, buckets []Bucket) error
}

// Sign-in throttling. A failed attempt costs one token from the account's
// bucket and one from the source address's; a successful one costs nothing.
// An attacker can thus try 5 passwords on an account at once and one every
// 30 s after that, and the account's owner waits at most 30 s once the
// attacker stops; one address can try 20 at once and one a second after.
const (
	AccountBurst  = 5
	AccountRefill = 30 * time.Second
	AddressBurst  = 20
	AddressRefill = time.Second
)

// Deps are what a Service is built from.
type Deps struct {
	Store   Store
	License License
	Limiter Limiter
	Hasher  *Hasher
	Log     *slog.Logger
	Now     func() time.Time // time.Now unless a test controls the clock
	// Sessions hears of every change that may end or narrow a user's
	// sessions, so gateways drop what they remember of them; nil: nobody.
	Sessions Announcer
	// Directory signs in users of an LDAP directory or Active Directory;
	// nil: directory sign-in is off.
	Directory Directory
}

// Announcer tells the gateways that a user's sessions changed (logout, a
// new role, disabled, a new password, deleted).
type Announcer interface {
	SessionsChanged(ctx context.Context, userID string)
}

// sessionsChanged announces a change of userID's sessions, if anyone listens.
func (s *Service) sessionsChanged(ctx context.Context, userID string) {
	if s.Sessions != nil {
		s.Sessions.SessionsChanged(ctx, userID)
	}
}

// Service is the identity domain's operations.
type Service struct {
	Deps
	dummyHash string // checked for unknown emails, so they take as long as known ones
}

// NewService checks d and prepares the service.
func NewService(ctx context.Context, d Deps) (*Service, error) {
	if d.Store == nil || d.License == nil || d.Limiter == nil || d.Hasher == nil || d.Log == nil {
		return nil, errors.New("user service: missing dependency")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	random := make([]byte, 24)
	rand.Read(random) // never fails; see crypto/rand
	dummy, err := d.Hasher.Hash(ctx, base64.RawStdEncoding.EncodeToString(random))
	if err != nil {
		return nil, fmt.Errorf("user service: dummy hash: %w", err)
	}
	return &Service{Deps: d, dummyHash: dummy}, nil
}

// now is the service's clock at the precision PostgreSQL keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// Bootstrapped reports whether any user exists.
func (s *Service) Bootstrapped(ctx context.Context) (bool, error) { return s.Store.Bootstrapped(ctx) }

// requireAdmin re-checks, behind the gateway, that an administrator asks.
func requireAdmin(ctx context.Context) error {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || a.Role != RoleAdmin {
		return errs.E(errs.PermissionDenied, "managing users needs the ADMIN role")
	}
	return nil
}

// event is an audit event about a user; the actor is taken from ctx unless set.
func event(action, userID string, details map[string]any) audit.Event {
	return audit.Event{Action: action, Target: audit.Target{Type: "user", ID: userID}, Details: details}
}

// actorOf is u as the actor of an event.
func actorOf(u User) audit.Actor {
	return audit.Actor{Type: audit.ActorUser, ID: u.ID, Email: u.Email, Role: u.Role}
}

// userDetails describes u in an event: never its password hash.
func userDetails(u User) map[string]any {
	return map[string]any{"email": u.Email, "name": u.Name, "role": u.Role, "disabled": u.Disabled}
}
