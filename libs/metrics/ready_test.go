package metrics_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/exekra/hub/libs/metrics"
)

func up(context.Context) error   { return nil }
func down(context.Context) error { return errors.New("connection refused") }

// hang ignores its context: the handler must not wait for it.
func hang(context.Context) error { time.Sleep(time.Hour); return nil }

func readyz(t *testing.T, h http.Handler) (int, metrics.ReadyReport) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var rep metrics.ReadyReport
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, rep
}

func TestReadiness(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      bool
		checks   []metrics.Check
		code     int
		status   string
		wantDown []string
	}{
		{name: "not ready until the checks are set", code: 503, status: "starting"},
		{name: "ready with no critical dependency", set: true, code: 200, status: "ready"},
		{name: "ready while every dependency answers", set: true, code: 200, status: "ready",
			checks: []metrics.Check{{"database", up}, {"nats", up}, {"redis", up}}},
		{name: "a dependency down is named", set: true, code: 503, status: "not_ready", wantDown: []string{"nats"},
			checks: []metrics.Check{{"database", up}, {"nats", down}}},
		{name: "every dependency down is named, sorted", set: true, code: 503, status: "not_ready", wantDown: []string{"database", "redis"},
			checks: []metrics.Check{{"redis", down}, {"nats", up}, {"database", down}}},
		{name: "a probe past its timeout is down", set: true, code: 503, status: "not_ready", wantDown: []string{"database"},
			checks: []metrics.Check{{"database", hang}, {"nats", up}}},
		{name: "a panicking probe is down", set: true, code: 503, status: "not_ready", wantDown: []string{"redis"},
			checks: []metrics.Check{{"redis", func(context.Context) error { panic("boom") }}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &metrics.Readiness{Timeout: 50 * time.Millisecond}
			if tc.set {
				r.Set(tc.checks...)
			}
			start := time.Now()
			code, rep := readyz(t, r)
			if took := time.Since(start); took > 2*time.Second {
				t.Errorf("/readyz took %s", took)
			}
			if code != tc.code || rep.Status != tc.status || !slices.Equal(rep.Down, tc.wantDown) {
				t.Fatalf("/readyz = %d %+v, want %d %s down %v", code, rep, tc.code, tc.status, tc.wantDown)
			}
			for _, c := range tc.checks {
				want := "up"
				if slices.Contains(tc.wantDown, c.Name) {
					want = "down"
				}
				if rep.Checks[c.Name] != want {
					t.Errorf("checks[%s] = %q, want %q", c.Name, rep.Checks[c.Name], want)
				}
			}
		})
	}
}

func TestReadinessFollowsItsDependency(t *testing.T) {
	var broken bool
	r := &metrics.Readiness{}
	r.Set(metrics.Check{Name: "nats", Probe: func(context.Context) error {
		if broken {
			return errors.New("disconnected")
		}
		return nil
	}})
	if code, _ := readyz(t, r); code != 200 {
		t.Fatalf("connected: %d", code)
	}
	broken = true
	if code, rep := readyz(t, r); code != 503 || rep.Checks["nats"] != "down" {
		t.Fatalf("disconnected: %d %+v", code, rep)
	}
	broken = false
	if code, _ := readyz(t, r); code != 200 {
		t.Fatalf("reconnected: %d", code)
	}
}

func TestServerServesReadyz(t *testing.T) {
	srv, err := metrics.Listen("gateway.metrics_listen", "127.0.0.1:0", metrics.New("gateway"), "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(ctx, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); <-served })

	status := func() int {
		resp, err := http.Get("http://" + srv.Addr() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz before SetReadiness = %d, want 503", got)
	}
	srv.SetReadiness(metrics.Check{Name: "nats", Probe: up})
	if got := status(); got != http.StatusOK {
		t.Errorf("/readyz with NATS up = %d, want 200", got)
	}
	srv.SetReadiness(metrics.Check{Name: "nats", Probe: down})
	if got := status(); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz with NATS down = %d, want 503", got)
	}
}
