package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
)

// TestSecretsAreNotCached: the answers that carry a session token or a
// machine secret must not be kept by a browser or a proxy cache.
func TestSecretsAreNotCached(t *testing.T) {
	sh := newStubHub(t,
		natsrpc.Handle(identity.SubjectLogin, func(_ context.Context, _ identity.LoginRequest) (identity.Session, error) {
			return identity.Session{Token: "exk_st_new", ExpiresAt: time.Now().Add(time.Hour)}, nil
		}),
		natsrpc.Handle(runners.SubjectRegister, func(_ context.Context, r runners.RegisterRequest) (runners.Registered, error) {
			return runners.Registered{Runner: runners.Runner{ID: "r-1", Name: r.Name}, MachineSecret: runners.SecretPrefix + "new"}, nil
		}),
		natsrpc.Handle(runners.SubjectRegenerateSecret, func(_ context.Context, _ runners.RegenerateSecretRequest) (runners.MachineSecret, error) {
			return runners.MachineSecret{MachineSecret: runners.SecretPrefix + "again"}, nil
		}),
	)
	tests := []struct {
		name, path, body string
		code             int
	}{
		{"login", "/api/v1/auth/login", `{"email":"a@example.com","password":"pw"}`, http.StatusOK},
		{"runner registration", "/api/v1/runners", `{"name":"r","environment":"Development"}`, http.StatusCreated},
		{"regenerate secret", "/api/v1/runners/r-1/regenerate-secret", ``, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("Authorization", "Bearer "+stubAdminToken)
			w := sh.serve(r)
			if w.Code != tt.code {
				t.Fatalf("status %d, body %s; want %d", w.Code, w.Body, tt.code)
			}
			if cc, p := w.Header().Get("Cache-Control"), w.Header().Get("Pragma"); cc != "no-store" || p != "no-cache" {
				t.Fatalf("Cache-Control %q, Pragma %q; want no-store, no-cache", cc, p)
			}
		})
	}
}
