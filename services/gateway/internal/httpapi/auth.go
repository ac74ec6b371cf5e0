package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/gin-gonic/gin"
)

// Access levels a route may name.
const (
	Anyone    = "anyone"
	Operator  = identity.RoleOperator
	Developer = identity.RoleDeveloper
	Admin     = identity.RoleAdmin
)

type principalKey struct{}

// authState is what authentication found out about a request.
type authState struct {
	principal *identity.Principal
	token     string
	err       error // set when a token was presented but could not be used
	cookie    bool  // the token came from the console cookie
}

// token returns the presented session token and whether it came from the cookie.
func token(c *gin.Context) (string, bool) {
	if h := c.GetHeader("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t), false
		}
		return "", false
	}
	// The console cookie only ever holds a session token, never an API token.
	if ck := websession.Session(c.Request); ck != "" && !identity.IsAPIToken(ck) {
		return ck, true
	}
	return "", false
}

// Authenticate resolves a bearer token or the console cookie into the acting
// user and puts it in the request context. It refuses nothing by itself: the
// route's policy decides.
func (s *Server) Authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		st := &authState{}
		tok, fromCookie := token(c)
		st.token, st.cookie = tok, fromCookie
		if c.GetHeader("Authorization") != "" && tok == "" {
			st.err = errs.E(errs.Unauthenticated, "Authorization must be 'Bearer <session token>'")
		} else if tok != "" {
			p, err := s.authenticate(c.Request.Context(), tok)
			if err != nil {
				st.err = err
			} else {
				st.principal = &p
				info := caller.From(c.Request.Context())
				info.Actor = caller.Actor{Type: "user", ID: p.User.ID, Role: p.User.Role, Email: p.User.Email, TokenID: p.TokenID}
				c.Request = c.Request.WithContext(caller.With(c.Request.Context(), info))
			}
		}
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey{}, st))
		c.Next()
	}
}

// authenticate asks identity whom tok belongs to, unless the gateway
// remembers a recent answer. An API token is always asked about: its
// revocation must hold on every gateway the moment the revoke call returns,
// which an announcement racing the next request cannot promise. (A token
// is a script's, so the round trip is small beside what the script asks.)
func (s *Server) authenticate(ctx context.Context, tok string) (identity.Principal, error) {
	if s.Sessions == nil || identity.IsAPIToken(tok) {
		return natsrpc.Call[identity.Principal](ctx, s.NATS, identity.SubjectAuthenticate, identity.AuthenticateRequest{Token: tok})
	}
	if p, ok := s.Sessions.Get(tok); ok {
		return p, nil
	}
	stamp := s.Sessions.Stamp()
	p, err := natsrpc.Call[identity.Principal](ctx, s.NATS, identity.SubjectAuthenticate, identity.AuthenticateRequest{Token: tok})
	if err == nil {
		s.Sessions.Put(tok, p, stamp)
	}
	return p, err
}

func auth(c *gin.Context) *authState {
	if st, ok := c.Request.Context().Value(principalKey{}).(*authState); ok {
		return st
	}
	return &authState{}
}

// Policy enforces a route's access level, and for an API token the scope
// the route needs: the one place RBAC is decided.
func (s *Server) Policy(access, scope string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := allow(c, access, scope); err != nil {
			s.denied(c, access, err)
			web.WriteError(c, s.Log, err)
			return
		}
		c.Next()
	}
}

func allow(c *gin.Context, access, scope string) error {
	st := auth(c)
	open := access == Anyone || access == Runner // runner credentials are checked by the runners service
	if !open && st.principal == nil {
		if k := errs.KindOf(st.err); st.err != nil && (k == errs.Unavailable || k == errs.RateLimited) {
			return st.err
		}
		if st.err != nil || st.token != "" {
			return errs.E(errs.Unauthenticated, "the session is invalid or has ended; sign in again")
		}
		return errs.E(errs.Unauthenticated, "sign in first: send Authorization: Bearer <session token>")
	}
	// A browser sends the session cookie on its own, so a request that
	// changes something with it must prove it came from the console — on open
	// routes too: POST /api/v1/license is open while no license is active,
	// yet it renews the license for an ADMIN whose cookie it carries.
	if st.cookie && c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead && !csrfOK(c) {
		return errs.E(errs.PermissionDenied, "missing or wrong CSRF token: with the session cookie, send the console page's token in X-CSRF-Token; API clients send Authorization: Bearer instead")
	}
	if err := tokenAllows(st.principal, access, scope); err != nil {
		return err
	}
	if open {
		return nil
	}
	if !identity.RoleAtLeast(st.principal.User.Role, access) {
		return errs.Ef(errs.PermissionDenied, "this needs the %s role", access)
	}
	return nil
}

// csrfOK checks the CSRF token bound to the session (websession): sent in
// the X-CSRF-Token header, or in the field csrf of a urlencoded form.
func csrfOK(c *gin.Context) bool {
	sent := c.GetHeader(websession.CSRFHeader)
	if sent == "" && strings.HasPrefix(c.ContentType(), "application/x-www-form-urlencoded") {
		sent = c.PostForm(websession.CSRFField)
	}
	return websession.Valid(c.Request, sent)
}

// Principal returns the signed-in user of the request, if any.
func Principal(c *gin.Context) *identity.Principal { return auth(c).principal }
