package httpapi

import (
	"github.com/exekra/hub/libs/text"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// textChecked runs h once every path and query parameter of the request is
// text (text.Check). A value that is not would cross the bus altered (Go's
// JSON turns invalid UTF-8 into U+FFFD, so a search would look for
// something else) or reach PostgreSQL, which refuses NUL.
func textChecked(h web.Handler) web.Handler {
	return func(c *gin.Context) error {
		for _, p := range c.Params {
			if err := text.Check(p.Key, p.Value); err != nil {
				return err
			}
		}
		for key, values := range c.Request.URL.Query() {
			if err := text.Check("a query parameter's name", key); err != nil {
				return err
			}
			for _, v := range values {
				if err := text.Check(key, v); err != nil {
					return err
				}
			}
		}
		return h(c)
	}
}

// checker is a request that bounds itself before it is sent on (the
// contract's own limits, such as identity.MaxPasswordBytes).
type checker interface{ Check() error }

// check runs req's own check, if it has one.
func check(req any) error {
	if c, ok := req.(checker); ok {
		return c.Check()
	}
	return nil
}
