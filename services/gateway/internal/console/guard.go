package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/gin-gonic/gin"
)

// guard lets a request through to a page of the given access: anonymous
// visitors are sent to sign in (and back afterwards), a role too low gets 403.
func (con *Console) guard(access string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if access == anyone {
			c.Next()
			return
		}
		p := con.principal(c)
		if p == nil {
			redirect(c, "/login?next="+url.QueryEscape(nextFor(c)))
			c.Abort()
			return
		}
		if !identity.RoleAtLeast(p.User.Role, access) {
			con.forbidden(c, access)
			c.Abort()
			return
		}
		c.Next()
	}
}

// nextFor is where to come back to after signing in: the page itself for a
// GET, the page a form belongs to for a POST.
func nextFor(c *gin.Context) string {
	if c.Request.Method == http.MethodGet {
		return c.Request.URL.RequestURI()
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(c.Request.URL.Path, "/"), "/")
	return "/" + first
}

// safeNext returns raw when it is a path on this site, "/" otherwise, so a
// crafted link cannot send someone elsewhere after signing in.
func safeNext(raw string) string {
	if raw == "" || raw[0] != '/' || strings.HasPrefix(raw, "//") || strings.ContainsAny(raw, `\`) {
		return "/"
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f {
			return "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path == "/login" || u.Path == "/logout" {
		return "/"
	}
	return raw
}

const csrfKey = "console.csrf"

// tokenShape is what newToken makes: 32 random bytes, base64url without padding.
var tokenShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrf is the double-submit check: a GET makes sure the browser holds a CSRF
// cookie, and every other method must send the cookie's value in the form
// field csrf. The form is read only once the cheap checks have passed (the
// page's guard ran before, the cookie is here), and only as urlencoded.
func (con *Console) csrf() gin.HandlerFunc {
	return func(c *gin.Context) {
		ck, _ := c.Cookie(CSRFCookie)
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			c.Set(csrfKey, issueCSRF(c, ck))
			c.Next()
			return
		}
		if ck == "" {
			con.formExpired(c, ck)
			return
		}
		if err := readForm(c); err != nil {
			c.Set(csrfKey, issueCSRF(c, ck))
			con.refuseForm(c, err)
			return
		}
		if subtle.ConstantTimeCompare([]byte(c.PostForm(CSRFField)), []byte(ck)) != 1 {
			con.formExpired(c, ck)
			return
		}
		c.Set(csrfKey, ck)
		c.Next()
	}
}

// formExpired refuses a form whose CSRF token is missing or wrong.
func (con *Console) formExpired(c *gin.Context, have string) {
	c.Set(csrfKey, issueCSRF(c, have))
	con.show(c, http.StatusForbidden, "error", page{Title: "Form expired",
		Error: "This form has expired or did not come from this console; reload the page and try again.",
		Data:  errorData{Code: "permission_denied"}})
	c.Abort()
}

// issueCSRF keeps a well-formed CSRF cookie and replaces anything else.
func issueCSRF(c *gin.Context, have string) string {
	if tokenShape.MatchString(have) {
		return have
	}
	tok := newToken()
	setCookie(c, CSRFCookie, tok, time.Time{})
	return tok
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, whole site, and
// Secure when the request came over TLS. A zero expires makes a session cookie.
func setCookie(c *gin.Context, name, value string, expires time.Time) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: value, Path: "/", Expires: expires,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}

// clearCookie tells the browser to drop a console cookie.
func clearCookie(c *gin.Context, name string) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode,
	})
}
