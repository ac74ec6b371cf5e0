package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/redistest"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
)

// home writes the default settings file into a fresh install dir.
func home(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "config"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, config.FileName), config.DefaultFile(), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// bearer sends every request with Authorization: Bearer <the token>.
type bearer string

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+string(b))
	return http.DefaultTransport.RoundTrip(r)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// get fetches url until it answers (the gateway is starting), failing t
// after 15 s or once Run has returned.
func get(t *testing.T, c *http.Client, url string, done <-chan error) (int, string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(body)
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned while waiting for %s: %v", url, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer within 15s: %v", url, err)
		}
	}
}

// TestRun runs the real gateway (daemon, Redis, NATS with JetStream, a
// self-signed certificate made at first start, no database) and stops it.
func TestRun(t *testing.T) {
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	dir := home(t)
	// The default metrics.token_file, as the pilot supervisor would make it.
	const metricsToken = "gateway-test-metrics-token"
	if err := os.MkdirAll(filepath.Join(dir, "var", "credentials"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "var", "credentials", "metrics.token"), []byte(metricsToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{"EXEKRA_NATS_URL=" + natstest.URL(t), "EXEKRA_REDIS_URL=" + redistest.New(t),
		"EXEKRA_GATEWAY_LISTEN=" + addr, "EXEKRA_GATEWAY_METRICS_LISTEN=" + metricsAddr,
		"EXEKRA_DATABASE_URL=postgres://exekra@127.0.0.1:1/hub?sslmode=disable"} // the gateway has none
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- daemon.Run(ctx, spec(), []string{"--home", dir}, environ, &bytes.Buffer{}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("Run did not return within 15s of its context ending")
		}
	})
	https := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

	code, body := get(t, https, "https://"+addr+"/api/health", done)
	t.Run("/api/health answers over HTTPS with NATS and Redis up", func(t *testing.T) {
		var rep healthcheck.Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Fatalf("/api/health = %d %q: %v", code, body, err)
		}
		// No back-end service runs here: degraded (503), but the gateway's own parts are up.
		if code != http.StatusServiceUnavailable || rep.NATS != "up" || rep.Redis != "up" {
			t.Fatalf("/api/health = %d %+v", code, rep)
		}
	})
	t.Run("the self-signed certificate was made and its expiry is a metric", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(dir, "config", "certs", "hub.crt")); err != nil {
			t.Fatal(err)
		}
		if code, _ := get(t, http.DefaultClient, "http://"+metricsAddr+"/metrics", done); code != http.StatusUnauthorized {
			t.Fatalf("/metrics without the token = %d, want 401", code)
		}
		scraper := &http.Client{Transport: bearer(metricsToken)}
		_, metricsBody := get(t, scraper, "http://"+metricsAddr+"/metrics", done)
		if !strings.Contains(metricsBody, "exekra_tls_certificate_expiry_timestamp_seconds ") {
			t.Fatal("/metrics lacks exekra_tls_certificate_expiry_timestamp_seconds")
		}
	})
	t.Run("/readyz checks NATS and Redis, no database", func(t *testing.T) {
		code, body := get(t, http.DefaultClient, "http://"+metricsAddr+"/readyz", done)
		var rep metrics.ReadyReport
		if err := json.Unmarshal([]byte(body), &rep); err != nil || code != http.StatusOK ||
			len(rep.Checks) != 2 || rep.Checks["nats"] != "up" || rep.Checks["redis"] != "up" {
			t.Fatalf("/readyz = %d %q", code, body)
		}
	})
	t.Run("cancelling stops it cleanly", func(t *testing.T) {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run() = %v, want nil", err)
			}
			done <- nil // for the cleanup
		case <-time.After(15 * time.Second):
			t.Fatal("Run did not return within 15s")
		}
	})
}
