// Package websession is what the gateway keeps in a web browser — the
// session cookie and the CSRF cookie — and the CSRF token bound to them. The
// API (httpapi) and the console both read these cookies, so both use the
// declarations here.
//
// The CSRF token is bound to a secret the browser holds in an HttpOnly
// cookie: the session token once signed in, a random pre-session value
// before. It is HMAC-SHA256 keyed with that secret, so a page that can set
// cookies but never read them cannot pair a cookie with a token that passes
// for the victim's session. The secret itself is the key rather than a
// server key because gateways behind a load balancer share no key, and any
// of them must accept a form another one rendered.
package websession

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"regexp"
	"time"
)

// Cookie, field and header names. The __Host- prefix makes a browser accept
// the cookie only from this host, with Secure, Path=/ and no Domain: a
// sibling sub-domain can neither plant nor overwrite it.
const (
	SessionCookie = "__Host-exekra_session" // the session token
	CSRFCookie    = "__Host-exekra_csrf"    // the pre-session secret a signed-out browser's forms are bound to
	CSRFField     = "csrf"                  // the form field that carries the CSRF token
	CSRFHeader    = "X-CSRF-Token"          // the header that carries it on API calls from the console
)

// tokenLabel separates these HMACs from any other use of the same secret.
const tokenLabel = "exekra-hub csrf v1"

// secretShape is what NewSecret makes: 32 random bytes, base64url without padding.
var secretShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

// NewSecret returns a fresh pre-session secret for the CSRF cookie.
func NewSecret() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// WellFormed reports whether s could be a secret NewSecret made; anything
// else in the CSRF cookie is replaced.
func WellFormed(s string) bool { return secretShape.MatchString(s) }

// Token is the CSRF token bound to secret.
func Token(secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(tokenLabel))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// Session returns the session token of r's session cookie, or "".
func Session(r *http.Request) string {
	if ck, err := r.Cookie(SessionCookie); err == nil {
		return ck.Value
	}
	return ""
}

// Secret returns what r's CSRF token is bound to: the session token when r
// carries a session cookie, else a well-formed pre-session secret of the
// CSRF cookie, else "".
func Secret(r *http.Request) string {
	if s := Session(r); s != "" {
		return s
	}
	if ck, err := r.Cookie(CSRFCookie); err == nil && WellFormed(ck.Value) {
		return ck.Value
	}
	return ""
}

// Valid reports, in constant time, whether sent is the CSRF token bound to
// r's secret; false when r carries no secret.
func Valid(r *http.Request, sent string) bool {
	secret := Secret(r)
	if secret == "" || sent == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(sent), []byte(Token(secret))) == 1
}

// SetCookie sets one of these cookies: __Host- (Secure, Path=/, no Domain),
// HttpOnly and SameSite=Strict. A zero expires makes a browser-session cookie.
// Secure holds on plain HTTP too: browsers take such cookies from
// http://localhost, and the gateway serves plain HTTP for tests only.
func SetCookie(w http.ResponseWriter, name, value string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}

// ClearCookie tells the browser to drop one of these cookies.
func ClearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}
