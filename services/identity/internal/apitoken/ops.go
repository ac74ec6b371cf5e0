package apitoken

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/exekra/hub/services/identity/internal/user"
	"github.com/google/uuid"
)

// Created is a new token; Secret is shown only here.
type Created struct {
	Secret string
	Token  Token
}

// NewToken is what Create is asked for.
type NewToken struct {
	Name      string
	Scopes    []string
	ExpiresAt time.Time
	UserID    string // "" or the caller: the caller's own token; else a service account (ADMIN)
}

// now is the clock at the precision PostgreSQL keeps.
func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// signedIn returns the acting user; a token cannot act here when
// allowTokens is false (a token cannot mint tokens).
func signedIn(ctx context.Context, allowTokens bool) (caller.Actor, error) {
	a := caller.ActorFromContext(ctx)
	if a.Type != audit.ActorUser || a.ID == "" {
		return a, errs.E(errs.Unauthenticated, "sign in first")
	}
	if !allowTokens && a.TokenID != "" {
		return a, errs.E(errs.PermissionDenied, "an API token cannot create API tokens; sign in to create one")
	}
	return a, nil
}

// Create makes a token for the caller or, by an ADMIN, for a service account.
func (s *Service) Create(ctx context.Context, in NewToken) (Created, error) {
	a, err := signedIn(ctx, false)
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	name, scopes, err := s.check(in, now)
	if err != nil {
		return Created{}, err
	}
	owner, err := s.ownerFor(ctx, a, in.UserID)
	if err != nil {
		return Created{}, err
	}
	prefix := identity.TokenPrefixPersonal
	if owner.Source == user.SourceService {
		prefix = identity.TokenPrefixService
	}
	secret, hash := newSecret(prefix)
	t := Token{ID: uuid.NewString(), UserID: owner.ID, UserEmail: owner.Email, Name: name, Prefix: secret[:PrefixLen],
		Scopes: scopes, CreatedAt: now, ExpiresAt: in.ExpiresAt.UTC().Truncate(time.Microsecond)}
	if err := s.Store.CreateToken(ctx, t, hash, tokenEvent("token.create", t)); err != nil {
		return Created{}, fmt.Errorf("create api token: %w", err)
	}
	return Created{Secret: secret, Token: t}, nil
}

// check validates the name, scopes and expiry of in.
func (s *Service) check(in NewToken, now time.Time) (string, []string, error) {
	name := strings.TrimSpace(in.Name)
	if err := text.CheckName("name", name); err != nil {
		return "", nil, err
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameLen {
		return "", nil, errs.Ef(errs.InvalidArgument, "name must be 1 to %d characters", MaxNameLen)
	}
	if len(in.Scopes) == 0 {
		return "", nil, errs.Ef(errs.InvalidArgument, "scopes must name at least one of %s", strings.Join(identity.Scopes, ", "))
	}
	var scopes []string
	for _, sc := range in.Scopes {
		if !slices.Contains(identity.Scopes, sc) {
			return "", nil, errs.Ef(errs.InvalidArgument, "unknown scope %q: scopes are %s", user.Truncate(sc, 32), strings.Join(identity.Scopes, ", "))
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	switch {
	case in.ExpiresAt.IsZero():
		return "", nil, errs.E(errs.InvalidArgument, "expires_at is required")
	case !in.ExpiresAt.After(now):
		return "", nil, errs.E(errs.InvalidArgument, "expires_at must be in the future")
	case in.ExpiresAt.Sub(now) > s.MaxLifetime:
		return "", nil, errs.Ef(errs.InvalidArgument, "expires_at must be at most %s from now (identity.token_max_lifetime)", days(s.MaxLifetime))
	}
	return name, scopes, nil
}

// days renders d in days when it is whole days.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

// ownerFor returns whom the token will belong to: the caller, or a service
// account named by an ADMIN. Nobody makes tokens for another person.
func (s *Service) ownerFor(ctx context.Context, a caller.Actor, userID string) (user.User, error) {
	if userID != "" && userID != a.ID {
		if a.Role != identity.RoleAdmin {
			return user.User{}, errs.E(errs.PermissionDenied, "only an ADMIN makes tokens for a service account")
		}
		if !isUUID(userID) {
			return user.User{}, errs.Ef(errs.InvalidArgument, "user_id must be a UUID, not %q", user.Truncate(userID, 64))
		}
	} else {
		userID = a.ID
	}
	owner, err := s.Store.UserByID(ctx, userID)
	if err != nil {
		return user.User{}, err
	}
	if owner.ID != a.ID && owner.Source != user.SourceService {
		return user.User{}, errs.E(errs.PermissionDenied, "tokens are made for yourself or for a service account, never for another person")
	}
	if owner.Disabled {
		return user.User{}, errs.E(errs.Conflict, "this user is disabled; enable it first")
	}
	return owner, nil
}

// Page is one page of tokens and the cursor of the next ("" after the last).
type Page struct {
	Tokens     []Token
	NextCursor string
}

// List pages through the caller's tokens, or (ADMIN) userID's or everyone's.
func (s *Service) List(ctx context.Context, userID string, all bool, limit int, cursor string) (Page, error) {
	a, err := signedIn(ctx, true)
	if err != nil {
		return Page{}, err
	}
	if (all || (userID != "" && userID != a.ID)) && a.Role != identity.RoleAdmin {
		return Page{}, errs.E(errs.PermissionDenied, "listing other users' tokens needs the ADMIN role")
	}
	switch {
	case all:
		userID = ""
	case userID == "":
		userID = a.ID
	case !isUUID(userID):
		return Page{}, errs.Ef(errs.InvalidArgument, "user_id must be a UUID, not %q", user.Truncate(userID, 64))
	}
	if limit == 0 {
		limit = user.DefaultPageSize
	}
	if limit < 1 || limit > user.MaxPageSize {
		return Page{}, errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d", user.MaxPageSize)
	}
	after, err := user.DecodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	tokens, err := s.Store.ListTokens(ctx, userID, after, limit+1)
	if err != nil {
		return Page{}, err
	}
	page := Page{Tokens: tokens}
	if len(tokens) > limit {
		page.Tokens = tokens[:limit]
		last := page.Tokens[limit-1]
		page.NextCursor = user.EncodeCursor(user.Cursor{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	return page, nil
}

var errNoToken = errs.E(errs.NotFound, "no API token has this id")

// Revoke ends a token for good (its owner or an ADMIN; anyone else is told
// there is no such token). Gateways hear of it before Revoke returns.
func (s *Service) Revoke(ctx context.Context, id string) (Token, error) {
	a, err := signedIn(ctx, true)
	if err != nil {
		return Token{}, err
	}
	if !isUUID(id) {
		return Token{}, errNoToken
	}
	t, err := s.Store.TokenByID(ctx, id)
	if errs.Is(err, errs.NotFound) || (err == nil && t.UserID != a.ID && a.Role != identity.RoleAdmin) {
		return Token{}, errNoToken
	}
	if err != nil {
		return Token{}, err
	}
	t, err = s.Store.RevokeToken(ctx, id, s.now(), func(t Token) audit.Event { return tokenEvent("token.revoke", t) })
	if err != nil {
		return Token{}, fmt.Errorf("revoke api token: %w", err)
	}
	if s.Sessions != nil {
		s.Sessions.SessionsChanged(ctx, t.UserID)
	}
	return t, nil
}

// Principal is whom a valid token acts for.
type Principal struct {
	User  user.User // with the owner's current role
	Token Token
}

// Authenticate resolves a presented API token. A malformed, unknown,
// revoked or expired token and one whose owner is disabled all get the
// same error. Use is written back at most once per TouchInterval.
func (s *Service) Authenticate(ctx context.Context, secret string) (Principal, error) {
	hash, ok := hashOfPresented(secret)
	if !ok {
		s.Count("malformed")
		return Principal{}, s.failed(ctx)
	}
	t, u, err := s.Store.TokenByHash(ctx, hash)
	if errs.Is(err, errs.NotFound) {
		s.Count("unknown")
		return Principal{}, s.failed(ctx)
	}
	if err != nil {
		s.Count("error")
		return Principal{}, fmt.Errorf("find api token: %w", err)
	}
	now := s.now()
	switch {
	case t.RevokedAt != nil:
		s.Count("revoked")
		return Principal{}, errUnauthenticated
	case !now.Before(t.ExpiresAt):
		s.Count("expired")
		return Principal{}, errUnauthenticated
	case u.Disabled:
		s.Count("disabled")
		return Principal{}, errUnauthenticated
	}
	ip := caller.From(ctx).SourceIP
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= TouchInterval {
		if err := s.Store.TouchToken(ctx, t.ID, now, user.Truncate(ip, 64)); err != nil {
			s.Log.WarnContext(ctx, "record api token use", "token_id", t.ID, "err", err)
		}
	}
	s.Count("ok")
	return Principal{User: u, Token: t}, nil
}

// addressBucket is the throttle bucket of failed token authentications
// from the caller's source address.
func addressBucket(ctx context.Context) []user.Bucket {
	addr := caller.From(ctx).SourceIP
	if addr == "" {
		addr = "unknown"
	}
	return []user.Bucket{{Key: "exekra:identity:token:address:" + user.Truncate(addr, 64), Burst: user.AddressBurst, Per: user.AddressRefill}}
}

// failed counts a failed authentication against the caller's address: it
// is unauthenticated, or rate_limited once the address has failed
// user.AddressBurst times in a row faster than one a user.AddressRefill. A
// valid token costs nothing and is never slowed down.
func (s *Service) failed(ctx context.Context) error {
	if s.Limiter == nil {
		return errUnauthenticated
	}
	wait, err := s.Limiter.Take(ctx, s.now(), addressBucket(ctx))
	if err != nil {
		s.Log.WarnContext(ctx, "token throttle unavailable", "err", err)
		return errUnauthenticated
	}
	if wait > 0 {
		s.Count("throttled")
		return errs.Throttled(fmt.Sprintf("too many unknown API tokens from this address; retry in %d seconds", max(int(math.Ceil(wait.Seconds())), 1)), wait)
	}
	return errUnauthenticated
}

// tokenEvent is an audit event about t: never its secret.
func tokenEvent(action string, t Token) audit.Event {
	return audit.Event{Action: action, Target: audit.Target{Type: "api_token", ID: t.ID}, Details: map[string]any{
		"name": t.Name, "prefix": t.Prefix, "scopes": t.Scopes, "expires_at": t.ExpiresAt.Format(time.RFC3339),
		"user_id": t.UserID, "user_email": t.UserEmail,
	}}
}

// isUUID accepts the canonical 36-character form only.
func isUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }
