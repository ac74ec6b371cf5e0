package console

import (
	"errors"
	"fmt"
	"mime"
	"net/http"

	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// FormMaxBytes is the largest body a console form may send: its forms carry
// a few fields and a license or receipt text, never files (packages are
// uploaded to the API, which streams them under its own limit).
const FormMaxBytes = 64 << 10

// formError is why a form was refused before its fields were looked at.
type formError struct {
	status int
	code   errs.Kind // the error page's data-code
	msg    string
}

func (e *formError) Error() string { return e.msg }

var (
	errFormTooLarge = &formError{http.StatusRequestEntityTooLarge, errs.PayloadTooLarge,
		fmt.Sprintf("The form is too large: a console form may send at most %d KiB.", FormMaxBytes>>10)}
	errFormType = &formError{http.StatusUnsupportedMediaType, errs.InvalidArgument,
		"Console forms are sent as application/x-www-form-urlencoded; this one was not."}
	errFormUnreadable = &formError{http.StatusBadRequest, errs.InvalidArgument,
		"The form could not be read; reload the page and try again."}
)

// limitBody caps what a console request may send at FormMaxBytes: a larger
// declared body is refused before any of it is read, and reading an
// undeclared one past the limit fails (readForm answers that with 413).
func (con *Console) limitBody(c *gin.Context) {
	if c.Request.ContentLength > FormMaxBytes {
		con.refuseForm(c, errFormTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, FormMaxBytes)
	c.Next()
}

// readForm parses the body of a console form. Only urlencoded bodies are
// read: no console form sends files, and parsing a multipart body would spill
// its files to temporary files before any of them could be refused.
func readForm(c *gin.Context) error {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return errFormType
	}
	if err := c.Request.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errFormTooLarge
		}
		return errFormUnreadable
	}
	return nil
}

// refuseForm answers a form that readForm or limitBody refused with an error page.
func (con *Console) refuseForm(c *gin.Context, err error) {
	fe := errFormUnreadable
	errors.As(err, &fe)
	con.show(c, fe.status, "error", page{Title: "Form refused", Error: fe.msg, Data: errorData{Code: string(fe.code)}})
	c.Abort()
}
