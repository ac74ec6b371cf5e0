package console

import (
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/gin-gonic/gin"
)

// oidcError is the message for the sign-in page's ?error= after a single
// sign-on that did not succeed: one of a fixed set, never the raw value.
func oidcError(c *gin.Context) string { return websession.OIDCErrorMessages[c.Query("error")] }
