package websession

import (
	"net/http"
	"time"
)

// The OpenID Connect state cookie: the state a sign-in began with, which
// must come back from the provider with its answer (login CSRF). Its path
// keeps it to the sign-in routes; SameSite=Lax lets the provider's redirect
// back carry it. (__Secure-, not __Host-: the path is not /.)
const (
	OIDCStateCookie   = "__Secure-exekra_oidc_state"
	OIDCStatePath     = "/api/v1/auth/oidc"
	OIDCStateLifetime = 10 * time.Minute
)

// SetOIDCState sets the state cookie for OIDCStateLifetime.
func SetOIDCState(w http.ResponseWriter, state string) {
	http.SetCookie(w, &http.Cookie{Name: OIDCStateCookie, Value: state, Path: OIDCStatePath,
		MaxAge: int(OIDCStateLifetime / time.Second), HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// OIDCState returns the state cookie's value, or "".
func OIDCState(r *http.Request) string {
	if ck, err := r.Cookie(OIDCStateCookie); err == nil {
		return ck.Value
	}
	return ""
}

// ClearOIDCState drops the state cookie.
func ClearOIDCState(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: OIDCStateCookie, Value: "", Path: OIDCStatePath, MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
}

// Why an OpenID Connect sign-in ended on the sign-in page: the gateway puts
// one of these in /login?error=, the console shows its message. Anything
// else in ?error= is ignored, never shown.
const (
	OIDCErrorDenied      = "oidc_denied"
	OIDCErrorFailed      = "oidc_failed"
	OIDCErrorNoRole      = "oidc_no_role"
	OIDCErrorEmailTaken  = "oidc_email_taken"
	OIDCErrorUnavailable = "oidc_unavailable"
)

// OIDCErrorMessages are the messages the sign-in page shows for each.
var OIDCErrorMessages = map[string]string{
	OIDCErrorDenied:      "The sign-in at your organization's provider was cancelled or refused.",
	OIDCErrorFailed:      "The single sign-on could not be completed. Start it again; if it keeps failing, ask an administrator.",
	OIDCErrorNoRole:      "Your organization's provider signed you in, but none of your groups gives a role in the Hub. Ask an administrator.",
	OIDCErrorEmailTaken:  "Another account of the Hub already uses your email. Ask an administrator.",
	OIDCErrorUnavailable: "Single sign-on is not available right now. Try again shortly or sign in with your email and password.",
}
