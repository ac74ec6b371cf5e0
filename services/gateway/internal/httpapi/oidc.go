package httpapi

import (
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// Paths of OpenID Connect sign-in.
const (
	PathOIDCLogin    = websession.OIDCStatePath + "/login"
	PathOIDCCallback = websession.OIDCStatePath + "/callback"
)

// oidcRoutes are the browser's OpenID Connect sign-in: both answer with
// redirects and pages, not JSON, since a browser follows them.
func (s *Server) oidcRoutes() []Route {
	location := Header{Name: "Location", Description: "Where the browser goes next.", Schema: stringSchema("uri-reference", ""), Required: true}
	return []Route{
		{Method: http.MethodGet, Path: PathOIDCLogin, Summary: "Start single sign-on with the OpenID Connect provider", Access: Anyone, Handle: s.oidcLogin,
			ID: "oidcLogin", Tag: tagSessions,
			Description: "Sends the browser to the provider set in identity.oidc.* with a fresh state (also kept in a 10-minute HttpOnly cookie), " +
				"a nonce and a PKCE challenge. When OpenID Connect is off or the provider has not answered yet, the browser goes to /login?error=oidc_unavailable.",
			Replies: []Reply{emptyReply(http.StatusFound, "To the provider's authorization endpoint, or back to the sign-in page with an error.", location)}},
		{Method: http.MethodGet, Path: PathOIDCCallback, Summary: "Finish single sign-on (the provider's redirect back)", Access: Anyone, Handle: s.oidcCallback,
			ID: "oidcCallback", Tag: tagSessions,
			Description: "The redirect URL registered at the provider. The state must match the browser's state cookie and is used once; the code is " +
				"exchanged with the PKCE verifier and the ID token checked (issuer, audience, expiry, signature, nonce). On success the console's session " +
				"cookie is set and a page takes the browser to the console (a page rather than a redirect, so the strict session cookie is sent with it). " +
				"On failure the browser goes to /login?error= with one of oidc_denied, oidc_failed, oidc_no_role, oidc_email_taken or oidc_unavailable. " +
				"Either way the state cookie is dropped.",
			Params: []Param{
				{Name: "code", In: "query", Schema: stringSchema("", "The authorization code.")},
				{Name: "state", In: "query", Schema: stringSchema("", "The state the sign-in began with.")},
				{Name: "error", In: "query", Schema: stringSchema("", "The provider's error, when it did not sign the user in.")},
			},
			Replies: []Reply{
				{Status: http.StatusOK, Description: "Signed in: the session cookie is set; the page goes on to the console.", Headers: []Header{headerNoStore},
					Body: []Media{{ContentType: "text/html", Schema: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}}}}},
				emptyReply(http.StatusFound, "Not signed in: back to the sign-in page with an error.", location),
			}},
	}
}

// oidcLogin asks identity to begin and sends the browser to the provider.
func (s *Server) oidcLogin(c *gin.Context) error {
	web.NoStore(c)
	begin, err := natsrpc.Call[identity.OIDCBegin](c.Request.Context(), s.NATS, identity.SubjectOIDCBegin, identity.OIDCBeginRequest{})
	if err != nil {
		s.Log.WarnContext(c.Request.Context(), "begin OpenID Connect sign-in", "err", err)
		found(c, loginWithError(websession.OIDCErrorUnavailable))
		return nil
	}
	websession.SetOIDCState(c.Writer, begin.State)
	found(c, begin.AuthURL)
	return nil
}

// found sends the browser to location: a 302 without a body, as the API
// document describes it (gin's Redirect writes a small HTML page).
func found(c *gin.Context, location string) {
	c.Header("Location", location)
	c.Status(http.StatusFound)
}

// oidcCallback finishes the sign-in and sets the console's session cookie.
func (s *Server) oidcCallback(c *gin.Context) error {
	web.NoStore(c)
	websession.ClearOIDCState(c.Writer)
	if c.Query("error") != "" {
		found(c, loginWithError(websession.OIDCErrorDenied))
		return nil
	}
	req := identity.OIDCCompleteRequest{Code: c.Query("code"), State: c.Query("state"), CookieState: websession.OIDCState(c.Request)}
	sess, err := natsrpc.Call[identity.Session](c.Request.Context(), s.NATS, identity.SubjectOIDCComplete, req)
	if err != nil {
		s.Log.InfoContext(c.Request.Context(), "OpenID Connect sign-in not completed", "err", err)
		found(c, loginWithError(oidcErrorCode(err)))
		return nil
	}
	// As the console's password sign-in does: the session cookie, and a
	// new pre-session secret so a token seen before is worthless after.
	websession.SetCookie(c.Writer, websession.SessionCookie, sess.Token, sess.ExpiresAt)
	websession.SetCookie(c.Writer, websession.CSRFCookie, websession.NewSecret(), time.Time{})
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Status(http.StatusOK)
	return signedInPage.Execute(c.Writer, nil)
}

// signedInPage moves on to the console. The browser arrived from the
// provider's site, and a SameSite=Strict cookie is not sent on a redirect
// chain that began there; a navigation from this page is same-site.
var signedInPage = template.Must(template.New("signed-in").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=/"><title>Signed in - Exekra Hub</title></head>
<body><p>Signed in. <a href="/">Continue to the console</a>.</p></body></html>
`))

// oidcErrorCode is the sign-in page's error for identity's answer.
func oidcErrorCode(err error) string {
	switch {
	case errs.Is(err, errs.PermissionDenied):
		return websession.OIDCErrorNoRole
	case errs.Is(err, errs.Conflict):
		return websession.OIDCErrorEmailTaken
	case errs.Is(err, errs.Unavailable), errs.Is(err, errs.NotFound):
		return websession.OIDCErrorUnavailable
	}
	return websession.OIDCErrorFailed
}

func loginWithError(code string) string { return "/login?error=" + url.QueryEscape(code) }
