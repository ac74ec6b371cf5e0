package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/gin-gonic/gin"
)

type loginData struct {
	Email    string
	Next     string // a local path to go to after signing in
	OIDCName string // the single sign-on button's provider; "" hides it
	// Directory: directory users sign in with the same form, by user name.
	Directory bool
}

func (con *Console) loginPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if con.principal(c) != nil {
		redirect(c, next)
		return
	}
	con.show(c, http.StatusOK, "login", page{Title: "Sign in", Error: oidcError(c), Data: con.withProviders(c, loginData{Next: next})})
}

// login signs in and keeps the session token in the HttpOnly session cookie,
// which lives as long as the session does.
func (con *Console) login(c *gin.Context) {
	d := loginData{Email: strings.TrimSpace(c.PostForm("email")), Next: safeNext(c.PostForm("next"))}
	sess, err := call[identity.Session](c, con, identity.SubjectLogin,
		identity.LoginRequest{Email: d.Email, Password: c.PostForm("password")})
	if err != nil {
		if after := retryAfter(err); after > 0 {
			c.Header("Retry-After", strconv.Itoa(after))
		}
		d = con.withProviders(c, d)
		con.show(c, statusOf(err), "login", page{Title: "Sign in", Error: con.inline(c, err), Data: d})
		return
	}
	web.NoStore(c) // the answer sets the session cookie
	websession.SetCookie(c.Writer, websession.SessionCookie, sess.Token, sess.ExpiresAt)
	// Forms are bound to the session from now on; the pre-session secret is
	// replaced so that a token seen before sign-in is worthless after sign-out.
	websession.SetCookie(c.Writer, websession.CSRFCookie, websession.NewSecret(), time.Time{})
	redirect(c, d.Next)
}

// retryAfter is the whole seconds a rate_limited error asks to wait (0 when none).
func retryAfter(err error) int {
	if d := errs.RetryAfter(err); d > 0 {
		return int((d + time.Second - 1) / time.Second)
	}
	return 0
}

// logout ends the session and drops its cookie. The cookie goes even when
// identity cannot be reached, so this browser is signed out either way.
func (con *Console) logout(c *gin.Context) {
	if tok := websession.Session(c.Request); tok != "" {
		_, err := call[identity.LogoutResponse](c, con, identity.SubjectLogout, identity.LogoutRequest{Token: tok})
		if err != nil && !errs.Is(err, errs.Unauthenticated) {
			con.Log.WarnContext(c.Request.Context(), "console: end session", "err", err)
		}
	}
	websession.ClearCookie(c.Writer, websession.SessionCookie)
	redirect(c, "/login?flash=signed_out")
}
