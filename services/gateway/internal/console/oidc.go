package console

import (
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/gin-gonic/gin"
)

// oidcName is the OpenID Connect provider's name for the sign-in page's
// "Sign in with <name>" button, or "" when OpenID Connect is off or
// identity cannot say (the password form works either way).
func (con *Console) oidcName(c *gin.Context) string {
	p, err := call[identity.Providers](c, con, identity.SubjectProviders, identity.ProvidersRequest{})
	if err != nil {
		con.Log.WarnContext(c.Request.Context(), "console: ask which sign-in methods are on", "err", err)
		return ""
	}
	if !p.OIDC {
		return ""
	}
	return p.OIDCName
}

// oidcError is the message for the sign-in page's ?error= after a single
// sign-on that did not succeed: one of a fixed set, never the raw value.
func oidcError(c *gin.Context) string { return websession.OIDCErrorMessages[c.Query("error")] }
