package natsapi_test

import (
	"testing"
	"time"

	"github.com/exekra/hub/services/identity/internal/apitoken"
)

// tokenMaxLifetime is the harness's identity.token_max_lifetime.
const tokenMaxLifetime = 90 * 24 * time.Hour

// apiTokens is the API token domain on the harness's store and clock.
func (h *harness) apiTokens(t testing.TB) *apitoken.Service {
	t.Helper()
	svc, err := apitoken.NewService(apitoken.Deps{Store: h.store, Log: h.deps.Log, Now: h.clock.Now,
		MaxLifetime: tokenMaxLifetime, Sessions: h.deps.Sessions, Count: h.countTokenAuth, Limiter: h.deps.Limiter})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// countTokenAuth remembers token authentication outcomes.
func (h *harness) countTokenAuth(outcome string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tokenAuths == nil {
		h.tokenAuths = map[string]int{}
	}
	h.tokenAuths[outcome]++
}
