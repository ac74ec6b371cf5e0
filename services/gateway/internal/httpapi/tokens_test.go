package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/gateway/internal/websession"
)

// Tokens of the scope tests: a DEVELOPER's, each with the scopes named.
var scopeTokens = map[string][]string{
	"exk_pat_read":    {identity.ScopeRead},
	"exk_pat_run":     {identity.ScopeRun},
	"exk_pat_publish": {identity.ScopePublish},
	"exk_pat_admin":   {identity.ScopeAdmin},
}

// tokenGateway is the gateway's engine in front of an identity stand-in
// that knows the scopeTokens and, as the identity service, answers
// tokens.list for anyone.
func tokenGateway(t *testing.T) http.Handler {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.DiscardHandler)
	dev := identity.User{ID: "u-dev", Email: "dev@example.com", Role: identity.RoleDeveloper}
	eps := []natsrpc.Endpoint{
		natsrpc.Handle(identity.SubjectAuthenticate, func(_ context.Context, r identity.AuthenticateRequest) (identity.Principal, error) {
			scopes, ok := scopeTokens[r.Token]
			if !ok {
				return identity.Principal{}, errs.E(errs.Unauthenticated, "the session is invalid or has ended")
			}
			return identity.Principal{User: dev, TokenID: "t-" + r.Token, Scopes: scopes, ExpiresAt: time.Now().Add(time.Hour)}, nil
		}),
		natsrpc.Handle(identity.SubjectTokensList, func(_ context.Context, _ identity.ListTokensRequest) (identity.ListTokensResponse, error) {
			return identity.ListTokensResponse{Items: []identity.APIToken{}}, nil
		}),
	}
	serveStubs(t, url, log, "stub-identity", eps)
	s := &Server{Log: log, Metrics: metrics.New("gateway"), NATS: natsrpc.NewClient(natstest.Connect(t, url), nil), MaxBodyBytes: 1 << 20}
	e, err := s.Engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestTokenScopes(t *testing.T) {
	h := tokenGateway(t)
	send := func(method, path, token string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	denied := func(w *httptest.ResponseRecorder) bool {
		return w.Code == http.StatusForbidden && errorCode(t, w) == "permission_denied"
	}
	tests := []struct {
		method, path, token string
		allowed             bool
		missing             string // the scope the refusal names
	}{
		{http.MethodGet, "/api/v1/tokens", "exk_pat_read", true, ""},
		{http.MethodGet, "/api/v1/tokens", "exk_pat_run", false, identity.ScopeRead},
		{http.MethodGet, "/api/v1/tokens", "exk_pat_admin", true, ""},
		{http.MethodPost, "/api/v1/jobs", "exk_pat_read", false, identity.ScopeRun},
		{http.MethodPost, "/api/v1/jobs", "exk_pat_publish", false, identity.ScopeRun},
		{http.MethodPost, "/api/v1/jobs", "exk_pat_run", true, ""},
		{http.MethodPost, "/api/v1/job-batches", "exk_pat_read", false, identity.ScopeRun},
		{http.MethodPost, "/api/v1/job-batches", "exk_pat_run", true, ""},
		{http.MethodPost, "/api/v1/jobs/j-1/cancel", "exk_pat_run", true, ""},
		{http.MethodPost, "/api/v1/schedules/s-1/run", "exk_pat_run", true, ""},
		{http.MethodPost, "/api/v1/packages", "exk_pat_run", false, identity.ScopePublish},
		{http.MethodPost, "/api/v1/packages", "exk_pat_publish", true, ""},
		{http.MethodPost, "/api/v1/tokens", "exk_pat_publish", false, identity.ScopeAdmin},
		{http.MethodDelete, "/api/v1/tokens/t-1", "exk_pat_read", false, identity.ScopeAdmin},
		{http.MethodPost, "/api/v1/assets", "exk_pat_run", false, identity.ScopeAdmin},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" with "+tt.token, func(t *testing.T) {
			w := send(tt.method, tt.path, tt.token)
			if tt.allowed && denied(w) {
				t.Fatalf("refused: %s", w.Body)
			}
			if !tt.allowed && (!denied(w) || !strings.Contains(w.Body.String(), "lacks the "+tt.missing+" scope")) {
				t.Fatalf("status %d, body %s; want 403 naming the %s scope", w.Code, w.Body, tt.missing)
			}
		})
	}
	t.Run("the admin scope never goes beyond the owner's role", func(t *testing.T) {
		w := send(http.MethodGet, "/api/v1/users", "exk_pat_admin")
		if !denied(w) || !strings.Contains(w.Body.String(), "ADMIN role") {
			t.Fatalf("status %d, body %s; want 403 naming the role", w.Code, w.Body)
		}
	})
	t.Run("an API token in the console cookie is not taken", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/tokens", nil)
		r.AddCookie(&http.Cookie{Name: websession.SessionCookie, Value: "exk_pat_admin"})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, body %s; want 401", w.Code, w.Body)
		}
	})
}

// Every route's scope: read for reads, run and publish where they are
// meant, admin for every other change.
func TestRouteScopes(t *testing.T) {
	s := &Server{}
	want := map[string]string{
		"POST /api/v1/jobs": identity.ScopeRun, "POST /api/v1/job-batches": identity.ScopeRun, "POST /api/v1/jobs/:id/cancel": identity.ScopeRun,
		"POST /api/v1/jobs/:id/rerun": identity.ScopeRun, "POST /api/v1/schedules/:id/run": identity.ScopeRun,
		"POST /api/v1/packages": identity.ScopePublish,
	}
	for _, r := range s.Routes() {
		got := scopeOf(r)
		exp, special := want[r.Method+" "+r.Path]
		switch {
		case special:
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			exp = identity.ScopeRead
		default:
			exp = identity.ScopeAdmin
		}
		if got != exp {
			t.Errorf("%s %s: scope %s, want %s", r.Method, r.Path, got, exp)
		}
		delete(want, r.Method+" "+r.Path)
	}
	if len(want) > 0 {
		t.Errorf("routes not found: %v", want)
	}
}
