package httpapi

import (
	"net/http"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/gin-gonic/gin"
)

// providerRoutes tell a sign-in page which sign-in methods are on.
func (s *Server) providerRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/api/v1/auth/providers", Summary: "Which sign-in methods are on", Access: Anyone, Handle: s.providers,
			ID: "getAuthProviders", Tag: tagSessions,
			Description: "Local accounts always sign in with POST /api/v1/auth/login. directory: users of the LDAP directory or Active Directory " +
				"sign in there too, with their directory user name or email and password. oidc: single sign-on starts at GET /api/v1/auth/oidc/login, " +
				"oidc_name naming the provider.",
			Replies: []Reply{jsonReply[identity.Providers](http.StatusOK, "The sign-in methods that are on.")}},
	}
}

// providers asks identity which sign-in methods are on.
func (s *Server) providers(c *gin.Context) error {
	p, err := natsrpc.Call[identity.Providers](c.Request.Context(), s.NATS, identity.SubjectProviders, identity.ProvidersRequest{})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}
