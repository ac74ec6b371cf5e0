package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
)

// stubServer is the gateway's engine with stand-in services that answer
// every request they receive with success: whatever reaches them passed the
// gateway's own checks.
func stubServer(t *testing.T) *httptest.Server {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.DiscardHandler)
	admin := identity.Principal{User: identity.User{ID: "u1", Email: "a@acme.test", Role: identity.RoleAdmin}, ExpiresAt: time.Now().Add(time.Hour)}
	eps := []natsrpc.Endpoint{
		natsrpc.Handle(identity.SubjectAuthenticate, func(context.Context, identity.AuthenticateRequest) (identity.Principal, error) {
			return admin, nil
		}),
		natsrpc.Handle(identity.SubjectLogin, func(context.Context, identity.LoginRequest) (identity.Session, error) {
			return identity.Session{Token: "t", User: admin.User}, nil
		}),
		natsrpc.Handle(identity.SubjectBootstrap, func(context.Context, identity.BootstrapRequest) (identity.User, error) {
			return admin.User, nil
		}),
		natsrpc.Handle(identity.SubjectUsersCreate, func(context.Context, identity.CreateUserRequest) (identity.User, error) {
			return admin.User, nil
		}),
		natsrpc.Handle(identity.SubjectUsersUpdate, func(context.Context, identity.UpdateUserRequest) (identity.User, error) {
			return admin.User, nil
		}),
		natsrpc.Handle(audit.SubjectQuery, func(context.Context, audit.QueryRequest) (audit.QueryResponse, error) {
			return audit.QueryResponse{}, nil
		}),
		natsrpc.Handle(runners.SubjectJobList, func(context.Context, runners.ListJobsRequest) (runners.ListJobsResponse, error) {
			return runners.ListJobsResponse{}, nil
		}),
	}
	serveStubs(t, url, log, "stub-services", eps)
	s := &Server{Log: log, Metrics: metrics.New("gateway"), NATS: natsrpc.NewClient(natstest.Connect(t, url), nil), MaxBodyBytes: 1 << 20}
	e, err := s.Engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

// TestInputTextIsChecked pins that the gateway refuses what it cannot pass
// on faithfully: a query or path value that is not text (invalid UTF-8
// would cross the bus as U+FFFD, NUL reaches PostgreSQL) and a password
// too large for the bus (200,000 '<' once answered 503 "message bus
// unavailable"). Each is a 400 invalid_argument naming the field.
func TestInputTextIsChecked(t *testing.T) {
	srv := stubServer(t)
	huge := strings.Repeat("<", 200_000)
	for _, tc := range []struct{ name, method, path, body, field string }{
		{"login password", "POST", "/api/v1/auth/login", `{"email":"a@acme.test","password":"` + huge + `"}`, "password"},
		{"bootstrap password", "POST", "/api/v1/setup/bootstrap", `{"email":"a@acme.test","name":"A","password":"` + huge + `"}`, "password"},
		{"new user password", "POST", "/api/v1/users", `{"email":"b@acme.test","name":"B","password":"` + huge + `"}`, "password"},
		{"changed password", "PATCH", "/api/v1/users/u1", `{"password":"` + strings.Repeat("p", 1025) + `"}`, "password"},
		{"audit actor NUL", "GET", "/api/v1/audit?actor=%00", "", "actor"},
		{"audit actor invalid UTF-8", "GET", "/api/v1/audit?actor=%ff", "", "actor"},
		{"audit export target invalid UTF-8", "GET", "/api/v1/audit/export?target=a%c3", "", "target"},
		{"jobs filter invalid UTF-8", "GET", "/api/v1/jobs?environment=%ed%a0%80", "", "environment"},
		{"package version NUL", "GET", "/api/v1/runner/packages/hello/%00", "", "version"},
		{"user id invalid UTF-8", "PATCH", "/api/v1/users/%ff", `{"name":"x"}`, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer t")
			if strings.HasPrefix(tc.path, "/api/v1/runner/") {
				req.SetBasicAuth("r1", "secret")
			}
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body web.ErrorBody
			json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != http.StatusBadRequest || body.Error.Code != "invalid_argument" || !strings.Contains(body.Error.Message, tc.field) {
				t.Fatalf("%d %+v, want 400 invalid_argument naming %s", resp.StatusCode, body, tc.field)
			}
		})
	}
	t.Run("a password at the limit passes", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"email":"a@acme.test","password":"`+strings.Repeat("<", identity.MaxPasswordBytes)+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d", resp.StatusCode)
		}
	})
}
