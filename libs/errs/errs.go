// Package errs is the one error model of Exekra Hub: a Kind that matches the
// public API's error codes, a human message, and an optional wrapped cause that
// is logged but never shown to a caller.
package errs

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Kind is an API error code (see docs/api.md).
type Kind string

// The kinds of docs/api.md, one per public error code.
const (
	InvalidArgument    Kind = "invalid_argument"
	InvalidLicense     Kind = "invalid_license"
	EmailMismatch      Kind = "email_mismatch"
	Unauthenticated    Kind = "unauthenticated"
	InvalidCredentials Kind = "invalid_credentials"
	PermissionDenied   Kind = "permission_denied"
	LicenseRequired    Kind = "license_required"
	LicenseLimit       Kind = "license_limit"
	NotFound           Kind = "not_found"
	Conflict           Kind = "conflict"
	AssetMissing       Kind = "asset_missing"
	AlreadyBootstrap   Kind = "already_bootstrapped"
	LastAdmin          Kind = "last_admin"
	PayloadTooLarge    Kind = "payload_too_large"
	UpgradeRequired    Kind = "upgrade_required"
	RateLimited        Kind = "rate_limited"
	Unavailable        Kind = "unavailable"
	Internal           Kind = "internal"
)

var statusByKind = map[Kind]int{
	InvalidArgument:    http.StatusBadRequest,
	InvalidLicense:     http.StatusBadRequest,
	EmailMismatch:      http.StatusBadRequest,
	Unauthenticated:    http.StatusUnauthorized,
	InvalidCredentials: http.StatusUnauthorized,
	PermissionDenied:   http.StatusForbidden,
	LicenseRequired:    http.StatusForbidden,
	LicenseLimit:       http.StatusForbidden,
	NotFound:           http.StatusNotFound,
	Conflict:           http.StatusConflict,
	AssetMissing:       http.StatusConflict,
	AlreadyBootstrap:   http.StatusConflict,
	LastAdmin:          http.StatusConflict,
	PayloadTooLarge:    http.StatusRequestEntityTooLarge,
	UpgradeRequired:    http.StatusUpgradeRequired,
	RateLimited:        http.StatusTooManyRequests,
	Unavailable:        http.StatusServiceUnavailable,
	Internal:           http.StatusInternalServerError,
}

// HTTPStatus is the one place that maps a kind to its HTTP status.
func (k Kind) HTTPStatus() int {
	if s, ok := statusByKind[k]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Known reports whether k is one of docs/api.md's codes.
func (k Kind) Known() bool {
	_, ok := statusByKind[k]
	return ok
}

// Error is an error with a kind and a message safe to show to a caller.
type Error struct {
	Kind       Kind
	Message    string
	Err        error         // cause, for logs only
	RetryAfter time.Duration // for RateLimited: when to try again
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// E makes an error of kind with a message for the caller.
func E(kind Kind, msg string) error { return &Error{Kind: kind, Message: msg} }

// Ef is E with formatting.
func Ef(kind Kind, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a kind and caller-safe message to a cause.
func Wrap(kind Kind, msg string, cause error) error {
	return &Error{Kind: kind, Message: msg, Err: cause}
}

// Throttled is a RateLimited error that says when to try again.
func Throttled(msg string, after time.Duration) error {
	return &Error{Kind: RateLimited, Message: msg, RetryAfter: after}
}

// RetryAfter returns the wait an error asks for (zero when none).
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// KindOf returns the kind of the first *Error in err's chain, Internal otherwise.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// Public returns the kind and the message that may be shown to a caller.
// Anything that is not an *Error is an internal error with a generic message.
func Public(err error) (Kind, string) {
	var e *Error
	if errors.As(err, &e) && e.Kind != Internal {
		return e.Kind, e.Message
	}
	return Internal, "internal error; see the Hub logs"
}

// Is reports whether err carries kind.
func Is(err error, kind Kind) bool { return err != nil && KindOf(err) == kind }
