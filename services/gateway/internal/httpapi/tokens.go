package httpapi

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/web"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
)

// tagTokens groups the routes of API tokens.
const tagTokens = "API tokens"

// Parameters of GET /api/v1/tokens.
var (
	paramTokenUser = Param{In: "query", Name: "user_id", Description: "ADMIN: the tokens of this user instead of your own.", Schema: stringSchema("uuid", "")}
	paramTokenAll  = Param{In: "query", Name: "all", Description: "ADMIN: every user's tokens.", Schema: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeBoolean}}}
)

// tokenRoutes are the route table's entries of API tokens: every signed-in
// role manages its own; identity decides whose tokens the caller may see,
// make or revoke, and refuses to let a token make a token.
func (s *Server) tokenRoutes() []Route {
	const never = " The answer never holds a token, only its first characters (prefix)."
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/tokens", Summary: "List API tokens", Access: Operator, Handle: s.listTokens,
			ID: "listTokens", Tag: tagTokens,
			Description: "A page of your API tokens, oldest first, revoked and expired ones included. An ADMIN may ask for another user's (user_id) or everyone's (all=true); " +
				"anyone else asking so gets 403 permission_denied." + never,
			Params:  append(slices.Clone(paramsPage), paramTokenUser, paramTokenAll),
			Replies: []Reply{jsonReply[identity.ListTokensResponse](http.StatusOK, "A page of tokens; next_cursor is empty after the last.")}},
		{Method: http.MethodPost, Path: "/api/v1/tokens", Summary: "Create an API token; the token is shown only here", Access: Operator, Handle: s.createToken,
			ID: "createToken", Tag: tagTokens,
			Description: "Makes an API token for you or, by an ADMIN, for a service account (user_id); nobody makes one for another person (403). " +
				"It needs a signed-in session: an API token cannot create tokens (403). name is 1 to 100 characters; scopes a non-empty subset of read, run, publish and admin; " +
				"expires_at is required, in the future and at most identity.token_max_lifetime away (365 days unless configured). A bad field is a 400 invalid_argument naming it. " +
				"The token starts with exk_pat_ (a person's) or exk_sat_ (a service account's) and is shown in this answer only: the Hub keeps its SHA-256. Audited as token.create.",
			Body: jsonBody[identity.CreateTokenRequest](),
			Replies: []Reply{jsonReply[identity.CreatedToken](http.StatusCreated, "The token, shown this once, and what is kept of it.",
				headerNoStore, headerPragma)}},
		{Method: http.MethodDelete, Path: "/api/v1/tokens/:id", Summary: "Revoke an API token", Access: Operator, Handle: s.revokeToken,
			ID: "revokeToken", Tag: tagTokens,
			Description: "Revokes a token for good: it stops working at once, on every gateway, before this answer. Its owner or an ADMIN may; " +
				"another user's token is a 404 as an unknown one is. Revoking a revoked token changes nothing. Audited as token.revoke." + never,
			Replies: []Reply{jsonReply[identity.APIToken](http.StatusOK, "The token, revoked.")}},
	}
}

func (s *Server) listTokens(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	all := false
	if v := c.Query("all"); v != "" {
		if all, err = strconv.ParseBool(v); err != nil {
			return errs.E(errs.InvalidArgument, "all must be true or false")
		}
	}
	return forward(c, s, identity.SubjectTokensList,
		identity.ListTokensRequest{UserID: c.Query("user_id"), All: all, Limit: limit, Cursor: c.Query("cursor")}, http.StatusOK)
}

func (s *Server) createToken(c *gin.Context) error {
	web.NoStore(c) // the answer holds the token
	return decodeAndForward[identity.CreateTokenRequest](c, s, identity.SubjectTokensCreate, http.StatusCreated)
}

func (s *Server) revokeToken(c *gin.Context) error {
	return forward(c, s, identity.SubjectTokensRevoke, identity.RevokeTokenRequest{ID: c.Param("id")}, http.StatusOK)
}

// scopeOf is the API token scope route r needs: its own, else read for
// GET and HEAD and admin for anything else.
func scopeOf(r Route) string {
	switch {
	case r.Scope != "":
		return r.Scope
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return identity.ScopeRead
	}
	return identity.ScopeAdmin
}

// tokenAllows refuses a request made with an API token that lacks the
// route's scope (admin allows everything the owner's role does). Runner
// routes take runner credentials, never a token.
func tokenAllows(p *identity.Principal, access, scope string) error {
	if p == nil || p.TokenID == "" || access == Runner {
		return nil
	}
	if slices.Contains(p.Scopes, identity.ScopeAdmin) || slices.Contains(p.Scopes, scope) {
		return nil
	}
	return errs.Ef(errs.PermissionDenied, "this API token lacks the %s scope this needs", scope)
}
