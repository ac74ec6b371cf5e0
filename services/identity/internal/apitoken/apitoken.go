// Package apitoken is the identity domain of API tokens: long-lived,
// scoped credentials for Studio, CI and scripts. A token belongs to a
// person or a service account; only the SHA-256 of it is kept, and it can
// never do more than its scopes and its owner's current role allow.
package apitoken

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/identity/internal/user"
)

// Token is an API token as the store holds it (never the token itself).
type Token struct {
	ID         string
	UserID     string
	UserEmail  string
	Name       string
	Prefix     string
	Scopes     []string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastUsedAt *time.Time
	LastUsedIP string
	RevokedAt  *time.Time
}

// String keeps the token's details short in logs.
func (t Token) String() string {
	return fmt.Sprintf("api token %s (%s) of user %s", t.ID, t.Prefix, t.UserID)
}

// Store keeps API tokens. Errors carry errs kinds: NotFound for an unknown
// token or user.
type Store interface {
	UserByID(ctx context.Context, id string) (user.User, error)
	// CreateToken inserts t with the hash of its secret and records ev.
	CreateToken(ctx context.Context, t Token, hash []byte, ev audit.Event) error
	// TokenByHash returns the token with hash and its owner.
	TokenByHash(ctx context.Context, hash []byte) (Token, user.User, error)
	TokenByID(ctx context.Context, id string) (Token, error)
	// ListTokens returns up to limit tokens of userID ("" for every user)
	// after the cursor, by creation time then id.
	ListTokens(ctx context.Context, userID string, after *user.Cursor, limit int) ([]Token, error)
	// RevokeToken sets revoked_at unless it is set and records ev; it
	// returns the token as it now is (an earlier revocation stays).
	RevokeToken(ctx context.Context, id string, at time.Time, ev func(Token) audit.Event) (Token, error)
	// TouchToken records a use.
	TouchToken(ctx context.Context, id string, at time.Time, ip string) error
}

// Counter counts token authentications by outcome (ok, malformed, unknown,
// revoked, expired, disabled, throttled, error); nil counts nothing.
type Counter func(outcome string)

// Deps are what a Service is built from.
type Deps struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
	// MaxLifetime bounds a token's expiry (identity.token_max_lifetime).
	MaxLifetime time.Duration
	// Sessions hears of revocations, so gateways forget the token at once.
	Sessions user.Announcer
	Count    Counter
	// Limiter throttles failed token authentications per source address
	// (user.AddressBurst in a row, then one every user.AddressRefill); nil:
	// no throttle.
	Limiter user.Limiter
}

// Service is the API token operations.
type Service struct{ Deps }

// NewService checks d.
func NewService(d Deps) (*Service, error) {
	if d.Store == nil || d.Log == nil || d.MaxLifetime <= 0 {
		return nil, fmt.Errorf("api token service: missing dependency or lifetime")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Count == nil {
		d.Count = func(string) {}
	}
	return &Service{Deps: d}, nil
}

// Limits.
const (
	MaxNameLen = 100
	// TouchInterval is how stale a token's last use may be before it is written again.
	TouchInterval = time.Minute
	secretBytes   = 32
	// PrefixLen is how many leading characters are kept to recognise a token.
	PrefixLen = 12
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// secretLen is the length of 32 random bytes in base62.
const secretLen = 43

// newSecret returns a token with prefix and the hash that is stored.
func newSecret(prefix string) (string, []byte) {
	b := make([]byte, secretBytes)
	rand.Read(b) // never fails; see crypto/rand
	n := new(big.Int).SetBytes(b)
	out := make([]byte, secretLen)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := secretLen - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = base62[mod.Int64()]
	}
	token := prefix + string(out)
	return token, hashOf(token)
}

func hashOf(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// hashOfPresented returns the hash of a presented token; ok is false for
// anything not shaped like an API token.
func hashOfPresented(token string) ([]byte, bool) {
	rest, personal := strings.CutPrefix(token, identity.TokenPrefixPersonal)
	if !personal {
		var service bool
		if rest, service = strings.CutPrefix(token, identity.TokenPrefixService); !service {
			return nil, false
		}
	}
	if len(rest) != secretLen || strings.Trim(rest, base62) != "" {
		return nil, false
	}
	return hashOf(token), true
}

var errUnauthenticated = errs.E(errs.Unauthenticated, "the session is invalid or has ended; sign in again")
