package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/services/gateway/internal/websession"
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

// csrfToken is the CSRF token the page answering c puts in its forms: bound
// to the browser's session, or before sign-in to its pre-session secret,
// which a browser that holds none is given here.
func csrfToken(c *gin.Context) string {
	if tok := c.GetString(csrfKey); tok != "" {
		return tok
	}
	secret := websession.Secret(c.Request)
	if secret == "" {
		secret = websession.NewSecret()
		websession.SetCookie(c.Writer, websession.CSRFCookie, secret, time.Time{})
	}
	tok := websession.Token(secret)
	c.Set(csrfKey, tok)
	return tok
}

// csrf lets a form through when its field csrf holds the token bound to the
// browser's session (or pre-session secret). The body is read only once the
// cheap checks have passed: the page's guard ran before, and a browser that
// holds no secret is refused unread.
func (con *Console) csrf(c *gin.Context) {
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
		c.Next()
		return
	}
	if websession.Secret(c.Request) == "" {
		con.formExpired(c)
		return
	}
	if err := readForm(c); err != nil {
		con.refuseForm(c, err)
		return
	}
	if !websession.Valid(c.Request, c.Request.PostForm.Get(websession.CSRFField)) {
		con.formExpired(c)
		return
	}
	c.Next()
}

// formExpired refuses a form whose CSRF token is missing or wrong.
func (con *Console) formExpired(c *gin.Context) {
	con.show(c, http.StatusForbidden, "error", page{Title: "Form expired",
		Error: "This form has expired or did not come from this console; reload the page and try again.",
		Data:  errorData{Code: "permission_denied"}})
	c.Abort()
}
