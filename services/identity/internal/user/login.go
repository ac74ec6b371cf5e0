package user

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// Issued is a new session; its token is shown only here.
type Issued struct {
	Token     string
	ExpiresAt time.Time
	User      User
}

var errInvalidCredentials = errs.E(errs.InvalidCredentials, "invalid email or password")

// Reasons of failed sign-ins in the audit log (never shown to the caller).
const (
	reasonUnknownEmail  = "unknown_email"
	reasonWrongPassword = "wrong_password"
	reasonDisabled      = "user_disabled"
	reasonChanged       = "user_changed_during_sign_in"
	reasonNotLocal      = "not_a_local_account" // a directory, OpenID Connect or service account
)

// Login signs a user in. An unknown email, a wrong password and a disabled
// user all get the same error after the same work (an unknown email is
// checked against a dummy hash). Attempts are throttled per account and per
// source address; a success costs no attempt.
func (s *Service) Login(ctx context.Context, email, password string) (Issued, error) {
	now := s.now()
	buckets := loginBuckets(ctx, email)
	if err := s.throttle(ctx, now, buckets); err != nil {
		return Issued{}, err
	}
	u, found, err := s.findForLogin(ctx, email)
	if err != nil {
		return Issued{}, err
	}
	// Only a local account has a password here; any other is checked
	// against the dummy hash, so it takes as long and never matches. A local
	// account wins over the directory: a local ADMIN signs in while the
	// directory is down.
	local := found && (u.Source == SourceLocal || u.Source == "")
	if !local && s.Directory != nil {
		return s.directoryLogin(ctx, now, buckets, email, password)
	}
	hash := s.dummyHash
	if local {
		hash = u.PasswordHash
	}
	match, rehash, err := s.Hasher.Verify(ctx, password, hash)
	if err != nil {
		return Issued{}, fmt.Errorf("login of user %s: %w", u.ID, err)
	}
	switch {
	case !found:
		return Issued{}, s.loginFailed(ctx, email, u, reasonUnknownEmail)
	case !local:
		return Issued{}, s.loginFailed(ctx, email, u, reasonNotLocal)
	case !match:
		return Issued{}, s.loginFailed(ctx, email, u, reasonWrongPassword)
	case u.Disabled:
		return Issued{}, s.loginFailed(ctx, email, u, reasonDisabled)
	}
	if err := s.Limiter.Give(ctx, now, buckets); err != nil {
		s.Log.WarnContext(ctx, "give back sign-in attempt", "user_id", u.ID, "err", err)
	}
	return s.startSession(ctx, now, u, password, rehash, SourceLocal)
}

// loginBuckets are the throttle buckets of one attempt: the source address
// and the account (its email, lower case, hashed to bound the key).
func loginBuckets(ctx context.Context, email string) []Bucket {
	addr := caller.From(ctx).SourceIP
	if addr == "" {
		addr = "unknown" // all callers without an address share one bucket
	}
	account := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return []Bucket{
		{Key: "exekra:identity:login:address:" + Truncate(addr, 64), Burst: AddressBurst, Per: AddressRefill},
		{Key: "exekra:identity:login:account:" + hex.EncodeToString(account[:]), Burst: AccountBurst, Per: AccountRefill},
	}
}

// throttle takes an attempt from buckets or says how long to wait.
func (s *Service) throttle(ctx context.Context, now time.Time, buckets []Bucket) error {
	wait, err := s.Limiter.Take(ctx, now, buckets)
	if err != nil {
		return errs.Wrap(errs.Unavailable, "sign-in is unavailable for a moment; try again shortly", fmt.Errorf("throttle: %w", err))
	}
	if wait > 0 {
		return errs.Throttled(retryMessage(wait), wait)
	}
	return nil
}

// retryMessage says how long to wait, in whole seconds rounded up.
func retryMessage(wait time.Duration) string {
	secs := max(int(math.Ceil(wait.Seconds())), 1)
	if secs == 1 {
		return "too many sign-in attempts; retry in 1 second"
	}
	return fmt.Sprintf("too many sign-in attempts; retry in %d seconds", secs)
}

// findForLogin looks the email up; a malformed email is simply not found.
func (s *Service) findForLogin(ctx context.Context, email string) (User, bool, error) {
	email, err := NormalizeEmail(email)
	if err != nil {
		return User{}, false, nil
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errs.Is(err, errs.NotFound) {
		return User{}, false, nil
	}
	if err != nil {
		return User{}, false, fmt.Errorf("login: %w", err)
	}
	return u, true, nil
}

// loginFailed records a failed sign-in with a local password and returns
// the one error every such failure gets.
func (s *Service) loginFailed(ctx context.Context, email string, u User, reason string) error {
	return s.refuseSignIn(ctx, email, u, reason, map[string]any{}, errInvalidCredentials)
}

// refuseSignIn records a refused sign-in of email (u when known) as a
// failed auth.login with reason and details, in its own transaction
// (nothing changed), and returns err: every refusal, local, directory or
// OpenID Connect, is recorded this one way.
func (s *Service) refuseSignIn(ctx context.Context, email string, u User, reason string, details map[string]any, err error) error {
	ev := event("auth.login", u.ID, details)
	ev.Outcome, ev.Reason = audit.Failure, reason
	ev.Actor = audit.Actor{Type: audit.ActorUser, ID: u.ID, Email: Truncate(strings.TrimSpace(email), MaxEmailLen), Role: u.Role}
	if rerr := s.Store.RecordEvent(ctx, ev); rerr != nil {
		return fmt.Errorf("record refused sign-in: %w", rerr)
	}
	return err
}

// startSession records the sign-in: a new session, last_login_at, a stronger
// hash when the stored one is weaker than today's parameters, and the event
// naming where the identity was checked (source).
func (s *Service) startSession(ctx context.Context, now time.Time, u User, password string, rehash bool, source string) (Issued, error) {
	l := Login{UserID: u.ID, VerifiedHash: u.PasswordHash, At: now}
	details := map[string]any{"source": source}
	if rehash {
		var err error
		if l.NewHash, err = s.Hasher.Hash(ctx, password); err != nil {
			return Issued{}, err
		}
		details["password_rehashed"] = true
	}
	token, hash := newToken()
	sess := Session{ID: uuid.NewString(), TokenHash: hash, UserID: u.ID, CreatedAt: now, LastSeenAt: now}
	details["session_id"] = sess.ID
	ev := event("auth.login", u.ID, details)
	ev.Actor = actorOf(u)
	err := s.Store.StartSession(ctx, sess, l, ev)
	if errs.Is(err, errs.InvalidCredentials) {
		return Issued{}, s.loginFailed(ctx, u.Email, u, reasonChanged)
	}
	if err != nil {
		return Issued{}, fmt.Errorf("start session of user %s: %w", u.ID, err)
	}
	u.LastLoginAt = &now
	return Issued{Token: token, ExpiresAt: sess.ExpiresAt(), User: u}, nil
}
