// Package identity is the NATS contract of the identity service (v1): users,
// sessions, roles and the first-admin bootstrap. The gateway sends the acting
// principal in Exekra-Actor; identity checks roles again itself.
package identity

import "time"

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
)

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

// Principal is who a valid token belongs to.
type Principal struct {
	User      User      `json:"user"`
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
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

// CreateUserRequest creates a user; Role defaults to OPERATOR.
type CreateUserRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
	Role     string `json:"role,omitempty"`
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
