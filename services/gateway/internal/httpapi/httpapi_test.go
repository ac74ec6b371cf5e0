package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/exekra/hub/services/gateway/internal/console"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/gin-gonic/gin"
)

// backend runs the real daemon of one service in-process and stops it on cancel.
func backend(t *testing.T, name, home string, env []string) context.CancelFunc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, daemon.Spec{Name: name}, []string{"--home", home}, env, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop", name)
		}
	})
	return cancel
}

type fixture struct {
	srv      *httptest.Server
	backends map[string]context.CancelFunc
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	os.WriteFile(filepath.Join(home, config.FileName), []byte("{}"), 0o644)
	natsURL := natstest.URL(t)
	env := []string{"EXEKRA_DATABASE_URL=" + pgtest.New(t), "EXEKRA_NATS_URL=" + natsURL, "EXEKRA_LOG_LEVEL=warn"}
	for _, s := range []string{"IDENTITY", "LICENSING", "RUNNERS", "AUDIT"} {
		env = append(env, "EXEKRA_"+s+"_METRICS_LISTEN=127.0.0.1:0")
	}
	f := &fixture{backends: map[string]context.CancelFunc{}}
	for _, s := range []string{"identity", "licensing", "runners", "audit"} {
		f.backends[s] = backend(t, s, home, env)
	}
	log := logger.NewWriter(io.Discard, "gateway", slog.LevelError)
	reg := metrics.New("gateway")
	nc := natstest.Connect(t, natsURL)
	client := natsrpc.NewClient(nc, reg)
	sessions, err := NewSessions(nc, SessionTTL)
	if err != nil {
		t.Fatal(err)
	}
	api := &Server{
		Log: log, Metrics: reg, NATS: client, MaxBodyBytes: 1 << 10, Sessions: sessions,
		Health: &healthcheck.Checker{NATS: client, Redis: redistest.Client(t), Started: time.Now(), Timeout: time.Second},
	}
	con := &console.Console{Log: log, Health: api.Health, Setup: func(*gin.Context) (console.SetupState, error) {
		return console.SetupState{Licensed: true}, nil
	}}
	var mountErr error
	engine, err := api.Engine(func(e *gin.Engine) { mountErr = con.Mount(e) })
	if err != nil || mountErr != nil {
		t.Fatal(err, mountErr)
	}
	f.srv = httptest.NewServer(engine)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) do(t *testing.T, method, path, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func (f *fixture) waitHealth(t *testing.T, want int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, body := f.do(t, http.MethodGet, "/api/health", "")
		if resp.StatusCode == want {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("health = %d %v, want %d", resp.StatusCode, body, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestGatewayAPI(t *testing.T) {
	f := newFixture(t)

	t.Run("health reports every part up", func(t *testing.T) {
		body := f.waitHealth(t, http.StatusOK)
		db := body["database"].(map[string]any)
		if body["status"] != "ok" || db["status"] != "up" || body["nats"] != "up" || body["redis"] != "up" {
			t.Fatalf("health = %v", body)
		}
		if _, ok := db["latency_ms"].(float64); !ok {
			t.Fatalf("database.latency_ms missing: %v", db)
		}
		for _, s := range []string{"identity", "licensing", "runners", "audit"} {
			if body["services"].(map[string]any)[s] != "up" {
				t.Fatalf("service %s not up: %v", s, body)
			}
		}
	})

	t.Run("unknown API path is a JSON not_found", func(t *testing.T) {
		resp, body := f.do(t, http.MethodGet, "/api/v1/nothing-here", "")
		if resp.StatusCode != http.StatusNotFound || body["error"].(map[string]any)["code"] != "not_found" {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})

	t.Run("oversized body is payload_too_large", func(t *testing.T) {
		resp, body := f.do(t, http.MethodPost, "/api/v1/auth/login", strings.Repeat("x", 2<<10))
		if resp.StatusCode != http.StatusRequestEntityTooLarge || body["error"].(map[string]any)["code"] != "payload_too_large" {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})

	t.Run("setup without the services that answer it is unavailable, not a 500", func(t *testing.T) {
		resp, body := f.do(t, http.MethodGet, "/api/v1/setup", "")
		if resp.StatusCode != http.StatusServiceUnavailable || body["error"].(map[string]any)["code"] != "unavailable" {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})

	t.Run("openapi document lists the routes", func(t *testing.T) {
		resp, body := f.do(t, http.MethodGet, "/api/v1/openapi.json", "")
		paths, _ := body["paths"].(map[string]any)
		if resp.StatusCode != http.StatusOK || paths["/api/health"] == nil || paths["/api/v1/setup"] == nil {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})

	t.Run("responses carry a request id and security headers", func(t *testing.T) {
		resp, _ := f.do(t, http.MethodGet, "/api/health", "")
		if resp.Header.Get("X-Request-Id") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("headers = %v", resp.Header)
		}
	})

	t.Run("the console status page renders health and setup", func(t *testing.T) {
		resp, err := http.Get(f.srv.URL + "/status")
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{`id="health-status">ok<`, `id="setup-licensed">active<`, `id="setup-bootstrapped">not created yet<`, "/static/app.css"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("page lacks %s", want)
			}
		}
		css, err := http.Get(f.srv.URL + "/static/app.css")
		if err != nil || css.StatusCode != http.StatusOK {
			t.Fatalf("embedded stylesheet: %v %v", err, css.Status)
		}
		css.Body.Close()
	})

	t.Run("a stopped service makes health 503 naming it", func(t *testing.T) {
		f.backends["audit"]()
		body := f.waitHealth(t, http.StatusServiceUnavailable)
		svcs := body["services"].(map[string]any)
		if body["status"] != "degraded" || svcs["audit"] != "down" || svcs["identity"] != "up" {
			t.Fatalf("health = %v", body)
		}
	})
}

// serveStubs serves eps as the service name on the bus at url until the
// test ends, and gives the service a moment to subscribe.
func serveStubs(t *testing.T, url string, log *slog.Logger, name string, eps []natsrpc.Endpoint) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- natsrpc.Serve(ctx, natstest.Connect(t, url), log, nil, natsrpc.Service{Name: name, Version: "1.0.0", Endpoints: eps})
	}()
	t.Cleanup(func() { cancel(); <-done })
	time.Sleep(200 * time.Millisecond)
}
