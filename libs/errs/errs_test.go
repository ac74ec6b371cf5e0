package errs

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

func TestKindMapping(t *testing.T) {
	tests := []struct {
		kind Kind
		want int
	}{
		{InvalidArgument, http.StatusBadRequest},
		{InvalidCredentials, http.StatusUnauthorized},
		{LicenseLimit, http.StatusForbidden},
		{NotFound, http.StatusNotFound},
		{LastAdmin, http.StatusConflict},
		{PayloadTooLarge, http.StatusRequestEntityTooLarge},
		{RateLimited, http.StatusTooManyRequests},
		{Unavailable, http.StatusServiceUnavailable},
		{Kind("made_up"), http.StatusInternalServerError},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			if got := tt.kind.HTTPStatus(); got != tt.want {
				t.Fatalf("HTTPStatus() = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPublicHidesCauses(t *testing.T) {
	cause := errors.New("pq: password authentication failed for user secret")
	t.Run("wrapped kind survives fmt wrapping", func(t *testing.T) {
		err := fmt.Errorf("register runner: %w", Wrap(Conflict, "name taken", cause))
		kind, msg := Public(err)
		if kind != Conflict || msg != "name taken" {
			t.Fatalf("Public() = %q %q", kind, msg)
		}
		if !errors.Is(err, cause) {
			t.Fatal("cause lost")
		}
	})
	t.Run("plain error is internal with generic message", func(t *testing.T) {
		kind, msg := Public(cause)
		if kind != Internal || msg == cause.Error() {
			t.Fatalf("Public() = %q %q", kind, msg)
		}
	})
}
