// Package web holds the gateway's gin middleware and the one function that
// writes the API's error envelope: {"error":{"code","message"}}.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// HeaderRequestID is echoed on every response.
const HeaderRequestID = "X-Request-Id"

// ErrorBody is the error envelope of docs/api.md.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of the envelope.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError writes err as the envelope with its kind's status. Internal causes
// are logged here, once, and never shown.
func WriteError(c *gin.Context, log *slog.Logger, err error) {
	if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
		// The client went away before its answer: nobody reads one, and
		// the Hub did not fail. Counted and logged as 499 (nginx's "client
		// closed request"), not as a 503.
		log.DebugContext(c.Request.Context(), "client went away before its answer", "route", c.FullPath(), "err", err)
		c.AbortWithStatus(StatusClientClosedRequest)
		return
	}
	if errs.KindOf(err) == errs.Internal && outOfFiles(err) {
		err = errs.Wrap(errs.Unavailable, "the Hub is short of open files right now; try again shortly", err)
	}
	kind, msg := errs.Public(err)
	switch {
	case kind == errs.Internal:
		log.ErrorContext(c.Request.Context(), "internal error", "route", c.FullPath(), "err", err)
	case (kind == errs.Unavailable || kind == errs.PayloadTooLarge) && errors.Unwrap(err) != nil:
		// A cause the client is not told (a service down, a body the bus
		// cannot carry): the operator needs it.
		log.WarnContext(c.Request.Context(), "request refused", "route", c.FullPath(), "code", string(kind), "err", err)
	}
	if kind == errs.RateLimited && c.Writer.Header().Get("Retry-After") == "" {
		secs := int64(math.Ceil(errs.RetryAfter(err).Seconds()))
		c.Header("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
	c.AbortWithStatusJSON(kind.HTTPStatus(), ErrorBody{ErrorDetail{Code: string(kind), Message: msg}})
}

// StatusClientClosedRequest is recorded for a request whose client went
// away before its answer (nginx's 499); it never reaches a client.
const StatusClientClosedRequest = 499

// outOfFiles tells whether err is the process (EMFILE) or the system
// (ENFILE) out of open files: a shortage that passes, not a fault.
func outOfFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// Handler is a gin handler that may fail.
type Handler func(c *gin.Context) error

// Wrap adapts h, writing its error as the envelope.
func Wrap(log *slog.Logger, h Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			WriteError(c, log, err)
		}
	}
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// Caller gives each request an id (a well-formed incoming X-Request-Id is kept),
// records the source address and puts both in the request context.
func Caller() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if !safeID.MatchString(id) {
			id = uuid.NewString()
		}
		c.Header(HeaderRequestID, id)
		info := caller.From(c.Request.Context())
		info.RequestID, info.SourceIP = id, c.ClientIP()
		c.Request = c.Request.WithContext(caller.With(c.Request.Context(), info))
		c.Next()
	}
}

// AccessLog writes one line per request.
func AccessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		log.InfoContext(c.Request.Context(), "http",
			"method", c.Request.Method, "route", route(c), "status", c.Writer.Status(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000,
			"client_ip", c.ClientIP(), "bytes", c.Writer.Size())
	}
}

// Metrics counts requests by route template, never by raw path.
func Metrics(reg *metrics.Registry) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		r := route(c)
		reg.HTTPRequests.WithLabelValues(r, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		reg.HTTPDuration.WithLabelValues(r).Observe(time.Since(start).Seconds())
	}
}

func route(c *gin.Context) string {
	if p := c.FullPath(); p != "" {
		return p
	}
	return "unmatched"
}

// Recover turns a panic into a 500 envelope and a log line, never a dead connection.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				WriteError(c, log, fmt.Errorf("panic: %v", r))
			}
		}()
		c.Next()
	}
}

// BodyLimit refuses bodies over max bytes with 413.
func BodyLimit(log *slog.Logger, max int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > max {
			WriteError(c, log, errs.Ef(errs.PayloadTooLarge, "request body exceeds %d bytes", max))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max)
		c.Next()
	}
}

// RemoveFormFiles removes the temp files of a multipart form parsed while the
// request was handled. net/http removes them only for the *http.Request it
// passed in, while middleware hands the handlers copies (WithContext) whose
// parsed form it never sees: without this, a large upload stays on disk for good.
func RemoveFormFiles(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if f := c.Request.MultipartForm; f != nil {
				if err := f.RemoveAll(); err != nil {
					log.WarnContext(c.Request.Context(), "remove multipart temp files", "route", route(c), "err", err)
				}
			}
		}()
		c.Next()
	}
}

// NoStore tells browsers and proxies to keep no copy of the response: for
// answers that carry a session token or a machine secret. Pragma is for
// HTTP/1.0 caches, which ignore Cache-Control.
func NoStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
}

// SecurityHeaders sets the headers every response carries.
func SecurityHeaders(https bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		c.Next()
	}
}

// DecodeJSON reads one JSON object from the body into v; unknown fields, trailing
// data and bodies over the limit are refused with the API's codes.
func DecodeJSON(c *gin.Context, v any) error { return decodeJSON(c, v, false) }

// DecodeOptionalJSON is DecodeJSON for a body that may be left out: an
// empty body (or only white space) leaves v as it is.
func DecodeOptionalJSON(c *gin.Context, v any) error { return decodeJSON(c, v, true) }

func decodeJSON(c *gin.Context, v any, optional bool) error {
	if ct := c.ContentType(); ct != "" && !strings.EqualFold(ct, "application/json") {
		return errs.Ef(errs.InvalidArgument, "Content-Type must be application/json, not %s", ct)
	}
	dec := json.NewDecoder(c.Request.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if optional && errors.Is(err, io.EOF) {
			return nil
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errs.E(errs.InvalidArgument, "request body must hold exactly one JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return errs.Ef(errs.PayloadTooLarge, "request body exceeds %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return errs.E(errs.InvalidArgument, "request body is empty; a JSON object is required")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return errs.E(errs.InvalidArgument, "request body is not valid JSON")
	case errors.As(err, &typ) && typ.Field == "":
		return errs.Ef(errs.InvalidArgument, "request body must be a JSON object, not %s", typ.Value)
	case errors.As(err, &typ):
		return errs.Ef(errs.InvalidArgument, "field %q has the wrong type (want %s)", typ.Field, typ.Type)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return errs.Ef(errs.InvalidArgument, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return errs.Wrap(errs.InvalidArgument, "request body could not be read", err)
}
