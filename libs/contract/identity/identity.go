// Package identity is the NATS contract of the identity service (v1): users,
// sessions, roles and the first-admin bootstrap. The gateway sends the acting
// principal in Exekra-Actor; identity checks roles again itself.
package identity

import (
	"strings"
	"time"
)

// Subjects of the identity service.
const (
	SubjectSetupState   = "exekra.identity.v1.setup.state"
	SubjectBootstrap    = "exekra.identity.v1.setup.bootstrap"
	SubjectLogin        = "exekra.identity.v1.auth.login"
	SubjectLogout       = "exekra.identity.v1.auth.logout"
	SubjectAuthenticate = "exekra.identity.v1.sessions.authenticate"
	// SubjectSessionsChanged is an event (no reply): a user's sessions may
	// have ended or lost rights (logout, role, disabled, password, deleted).
	// Every gateway listens and forgets what it remembered of that user.
	SubjectSessionsChanged = "exekra.identity.v1.sessions.changed"
	SubjectUsersList       = "exekra.identity.v1.users.list"
	SubjectUsersGet        = "exekra.identity.v1.users.get"
	SubjectUsersCreate     = "exekra.identity.v1.users.create"
	SubjectUsersUpdate     = "exekra.identity.v1.users.update"
	SubjectUsersDelete     = "exekra.identity.v1.users.delete"

	// SubjectProviders tells which sign-in methods are on: ProvidersRequest -> Providers.
	SubjectProviders = "exekra.identity.v1.auth.providers"
	// SubjectOIDCBegin starts an OpenID Connect sign-in: OIDCBeginRequest -> OIDCBegin.
	SubjectOIDCBegin = "exekra.identity.v1.auth.oidc.begin"
	// SubjectOIDCComplete ends one with the provider's answer: OIDCCompleteRequest -> Session.
	SubjectOIDCComplete = "exekra.identity.v1.auth.oidc.complete"

	// API tokens: CreateTokenRequest -> CreatedToken, ListTokensRequest ->
	// ListTokensResponse, RevokeTokenRequest -> APIToken.
	SubjectTokensCreate = "exekra.identity.v1.tokens.create"
	SubjectTokensList   = "exekra.identity.v1.tokens.list"
	SubjectTokensRevoke = "exekra.identity.v1.tokens.revoke"
)

// Where a user's identity comes from.
const (
	SourceLocal     = "local"     // a password the Hub keeps
	SourceDirectory = "directory" // LDAP or Active Directory: signs in with the directory's password
	SourceOIDC      = "oidc"      // an OpenID Connect provider
	SourceService   = "service"   // a service account: no password, API tokens only
)

// Sources lists every source.
var Sources = []string{SourceLocal, SourceDirectory, SourceOIDC, SourceService}

// Roles, each including everything of the one before: OPERATOR ⊂ DEVELOPER ⊂ ADMIN.
const (
	RoleOperator  = "OPERATOR"
	RoleDeveloper = "DEVELOPER"
	RoleAdmin     = "ADMIN"
)

// RoleRank orders roles; an unknown role ranks 0 (no rights).
func RoleRank(role string) int {
	switch role {
	case RoleOperator:
		return 1
	case RoleDeveloper:
		return 2
	case RoleAdmin:
		return 3
	}
	return 0
}

// RoleAtLeast reports whether role includes the rights of min.
func RoleAtLeast(role, min string) bool { return RoleRank(role) > 0 && RoleRank(role) >= RoleRank(min) }

// SetupStateRequest has no fields.
type SetupStateRequest struct{}

// SetupState tells whether the Hub has been bootstrapped.
type SetupState struct {
	Bootstrapped bool `json:"bootstrapped"`
}

// User is a user as the API shows it: never a hash or a secret.
type User struct {
	ID          string     `json:"id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Disabled    bool       `json:"disabled"`
	Source      string     `json:"source"`
	CreatedAt   time.Time  `json:"created_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

// BootstrapRequest creates the first ADMIN (email must match the license's admin_email).
type BootstrapRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// LoginRequest signs in; the source address travels in Exekra-Source-Ip.
// Email is a local user's email, or, with directory sign-in on, what the
// directory knows the user by (sAMAccountName, userPrincipalName or mail,
// as the directory's user filter says).
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

// Session is a signed-in session; Token is shown once, only its hash is stored.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      User      `json:"user"`
}

// LogoutRequest ends the session of Token.
type LogoutRequest struct {
	Token string `json:"token"`
}

// LogoutResponse is empty.
type LogoutResponse struct{}

// AuthenticateRequest resolves a session token.
type AuthenticateRequest struct {
	Token string `json:"token"`
}

// SessionsChanged is the event on SubjectSessionsChanged.
type SessionsChanged struct {
	UserID string `json:"user_id"`
}

// Principal is who a valid token belongs to. For an API token, SessionID
// is empty, TokenID names the token and Scopes limits what it may do
// (never more than User.Role allows); for a session both are empty.
type Principal struct {
	User      User      `json:"user"`
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
	TokenID   string    `json:"token_id,omitempty"`
	Scopes    []string  `json:"scopes,omitempty"`
}

// ListUsersRequest pages through users (Limit 1–500; Cursor from the last page).
type ListUsersRequest struct {
	Limit  int    `json:"limit"`
	Cursor string `json:"cursor,omitempty"`
}

// ListUsersResponse is one page.
type ListUsersResponse struct {
	Items      []User `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// GetUserRequest names a user.
type GetUserRequest struct {
	ID string `json:"id"`
}

// CreateUserRequest creates a user; Role defaults to OPERATOR. A service
// account (ServiceAccount) has no password and signs in with API tokens only.
type CreateUserRequest struct {
	Email          string `json:"email"`
	Password       string `json:"password"`
	Name           string `json:"name"`
	Role           string `json:"role,omitempty"`
	ServiceAccount bool   `json:"service_account,omitempty"`
}

// UpdateUserRequest changes the fields that are set.
type UpdateUserRequest struct {
	ID       string  `json:"id"`
	Name     *string `json:"name,omitempty"`
	Role     *string `json:"role,omitempty"`
	Disabled *bool   `json:"disabled,omitempty"`
	Password *string `json:"password,omitempty"`
}

// DeleteUserRequest names a user to delete.
type DeleteUserRequest struct {
	ID string `json:"id"`
}

// DeleteUserResponse is empty.
type DeleteUserResponse struct{}

// ProvidersRequest has no fields.
type ProvidersRequest struct{}

// Providers are the sign-in methods that are on. Local accounts always are.
type Providers struct {
	Directory bool   `json:"directory"`           // LDAP or Active Directory, through the same sign-in form
	OIDC      bool   `json:"oidc"`                // OpenID Connect
	OIDCName  string `json:"oidc_name,omitempty"` // the button's "Sign in with <name>"
}

// OIDCBeginRequest has no fields.
type OIDCBeginRequest struct{}

// OIDCBegin is where to send the browser. State is also set in a
// short-lived cookie by the gateway and must come back with the answer.
type OIDCBegin struct {
	AuthURL string `json:"auth_url"`
	State   string `json:"state"`
}

// OIDCCompleteRequest is the provider's answer to the callback: Code and
// State from the query, CookieState from the browser's cookie.
type OIDCCompleteRequest struct {
	Code        string `json:"code"`
	State       string `json:"state"`
	CookieState string `json:"cookie_state"`
}

// Token scopes. A token may do what its scopes allow and its owner's role
// allows, never more.
const (
	ScopeRead    = "read"    // every GET the owner may make
	ScopeRun     = "run"     // start, cancel and rerun jobs; run schedules now
	ScopePublish = "publish" // publish packages
	ScopeAdmin   = "admin"   // everything the owner's role allows
)

// Scopes lists every token scope.
var Scopes = []string{ScopeRead, ScopeRun, ScopePublish, ScopeAdmin}

// Prefixes of API tokens, so secret scanners find them.
const (
	TokenPrefixPersonal = "exk_pat_"
	TokenPrefixService  = "exk_sat_"
)

// IsAPIToken reports whether s claims to be an API token rather than a
// session token (exk_st_): it starts with one of the token prefixes.
func IsAPIToken(s string) bool {
	return strings.HasPrefix(s, TokenPrefixPersonal) || strings.HasPrefix(s, TokenPrefixService)
}

// APIToken is a token as the API shows it: never the token itself.
type APIToken struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	UserID     string     `json:"user_id"`
	UserEmail  string     `json:"user_email"`
	Prefix     string     `json:"prefix"` // the first characters, to recognise it
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	LastUsedIP string     `json:"last_used_ip"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// State is active, expired (at now) or revoked.
func (t APIToken) State(now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "active"
}

// CreateTokenRequest makes a token for the caller, or (ADMIN) for a service
// account named by UserID. ExpiresAt is required and bounded by
// identity.token_max_lifetime.
type CreateTokenRequest struct {
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    string    `json:"user_id,omitempty"`
}

// CreatedToken holds the token, shown this once; only its SHA-256 is kept.
type CreatedToken struct {
	Token string   `json:"token"`
	Info  APIToken `json:"info"`
}

// ListTokensRequest lists the caller's tokens, or (ADMIN) another user's
// (UserID) or everyone's (All).
type ListTokensRequest struct {
	UserID string `json:"user_id,omitempty"`
	All    bool   `json:"all,omitempty"`
	Limit  int    `json:"limit"`
	Cursor string `json:"cursor,omitempty"`
}

// ListTokensResponse is one page.
type ListTokensResponse struct {
	Items      []APIToken `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// RevokeTokenRequest names a token to revoke (its owner or an ADMIN).
type RevokeTokenRequest struct {
	ID string `json:"id"`
}
