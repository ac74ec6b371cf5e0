package console

import (
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/gin-gonic/gin"
)

// withProviders fills d's sign-in methods (directory sign-in, the single
// sign-on button) from identity's answer; when identity cannot say, the
// page offers the password form only, which works either way.
func (con *Console) withProviders(c *gin.Context, d loginData) loginData {
	p, err := call[identity.Providers](c, con, identity.SubjectProviders, identity.ProvidersRequest{})
	if err != nil {
		con.Log.WarnContext(c.Request.Context(), "console: ask which sign-in methods are on", "err", err)
		return d
	}
	d.Directory = p.Directory
	if p.OIDC {
		d.OIDCName = p.OIDCName
	}
	return d
}
