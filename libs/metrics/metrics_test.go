package metrics_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
)

func TestListenOnAPortInUseNamesTheKeyAndAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	_, err = metrics.Listen("identity.metrics_listen", addr, metrics.New("identity"), "")
	if err == nil {
		t.Fatalf("Listen on busy %s succeeded", addr)
	}
	for _, want := range []string{"identity.metrics_listen", addr} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestServerServesTheSharedVectors(t *testing.T) {
	reg := metrics.New("audit")
	reg.HTTPRequests.WithLabelValues("/api/runners/:id", "GET", "200").Inc()
	reg.HTTPDuration.WithLabelValues("/api/runners/:id").Observe(0.01)
	reg.NATSRequests.WithLabelValues("exekra.audit.v1.status", "ok").Inc()
	tokenFile := writeToken(t, testToken)
	srv, err := metrics.Listen("audit.metrics_listen", "127.0.0.1:0", reg, tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		srv.Serve(ctx, slog.New(slog.DiscardHandler))
	}()
	t.Cleanup(func() {
		cancel()
		<-served
	})

	body := getWith(t, "http://"+srv.Addr()+"/metrics", "Bearer "+testToken)
	for _, want := range []string{
		`exekra_http_requests_total{code="200",method="GET",route="/api/runners/:id"} 1`,
		`exekra_http_request_duration_seconds_count{route="/api/runners/:id"} 1`,
		`exekra_nats_requests_total{outcome="ok",subject="exekra.audit.v1.status"} 1`,
		`exekra_process_info{process="audit"} 1`,
		`go_goroutines`,
		`process_start_time_seconds`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if got := get(t, "http://"+srv.Addr()+"/livez"); got != "ok\n" {
		t.Errorf("/livez = %q", got)
	}

	t.Run("serve returns when the context ends", func(t *testing.T) {
		cancel()
		select {
		case <-served:
		case <-time.After(5 * time.Second):
			t.Fatal("Serve did not return within 5s of its context ending")
		}
	})
}

func get(t *testing.T, url string) string {
	t.Helper()
	return getWith(t, url, "")
}

// getWith GETs url with the Authorization header auth (none when empty) and
// expects 200.
func getWith(t *testing.T, url, auth string) string {
	t.Helper()
	code, _, b := request(t, url, auth)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %q", url, code, b)
	}
	return b
}

// request GETs url with the Authorization header auth (none when empty).
func request(t *testing.T, url, auth string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// testToken is the token of the tests' token files: 32 bytes, hex.
const testToken = "3f1c9a7be04d2286c5f0a1e9b7d3c6a4f8e2b1d0c9a8f7e6d5c4b3a291807f6e"

// writeToken writes token to a 0600 file of its own and returns its path.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// serve runs a metrics server of registry reg whose token is in tokenFile
// until the test ends; logs collects what it logs.
func serve(t *testing.T, reg *metrics.Registry, tokenFile string, logs *bytes.Buffer) *metrics.Server {
	t.Helper()
	srv, err := metrics.Listen("gateway.metrics_listen", "127.0.0.1:0", reg, tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, nil))
	}
	go func() { defer close(served); srv.Serve(ctx, log) }()
	t.Cleanup(func() { cancel(); <-served })
	return srv
}

// assertRefused checks a 401 with the Bearer challenge and the API's error body.
func assertRefused(t *testing.T, url, auth string) {
	t.Helper()
	code, h, body := request(t, url, auth)
	if code != http.StatusUnauthorized {
		t.Fatalf("GET %s with Authorization %q = %d %q, want 401", url, auth, code, body)
	}
	if got := h.Get("WWW-Authenticate"); got != `Bearer realm="exekra-metrics"` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != string(errs.Unauthenticated) || e.Error.Message == "" {
		t.Errorf("body = %q (%v), want the unauthenticated error", body, err)
	}
	if strings.Contains(body, testToken) || strings.Contains(body, "go_goroutines") {
		t.Errorf("the refusal leaks: %q", body)
	}
}

func TestMetricsAndPprofNeedTheBearerToken(t *testing.T) {
	reg := metrics.New("gateway")
	var logs bytes.Buffer
	srv := serve(t, reg, writeToken(t, testToken), &logs)
	base := "http://" + srv.Addr()
	guarded := []string{"/metrics", "/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/goroutine?debug=1",
		"/debug/pprof/symbol", "/debug/pprof/profile?seconds=1", "/debug/pprof/trace?seconds=1", "/debug/pprof/cmdline"}

	attacks := []struct{ name, auth string }{
		{"no header", ""},
		{"a wrong token of the same length", "Bearer " + strings.Repeat("0", len(testToken))},
		{"a shorter token", "Bearer " + testToken[:32]},
		{"a longer token", "Bearer " + testToken + "00"},
		{"an empty bearer token", "Bearer "},
		{"the scheme alone", "Bearer"},
		{"the token without a scheme", testToken},
		{"the token as Basic", "Basic " + testToken},
		{"the token as Basic credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("prometheus:"+testToken))},
		{"the token in the query", ""},
	}
	for _, a := range attacks {
		t.Run("refused: "+a.name, func(t *testing.T) {
			for _, p := range guarded {
				url := base + p
				if a.name == "the token in the query" {
					url += map[bool]string{true: "&", false: "?"}[strings.Contains(p, "?")] + "token=" + testToken
				}
				assertRefused(t, url, a.auth)
			}
		})
	}
	t.Run("the right token reads /metrics and pprof", func(t *testing.T) {
		if body := getWith(t, base+"/metrics", "Bearer "+testToken); !strings.Contains(body, "go_goroutines") {
			t.Errorf("/metrics with the token lacks go_goroutines")
		}
		if body := getWith(t, base+"/debug/pprof/goroutine?debug=1", "bearer "+testToken); !strings.HasPrefix(body, "goroutine profile:") {
			t.Errorf("pprof goroutine with the token = %.60q", body)
		}
	})
	t.Run("/livez and /readyz need no token", func(t *testing.T) {
		if got := get(t, base+"/livez"); got != "ok\n" {
			t.Errorf("/livez = %q", got)
		}
		srv.SetReadiness()
		get(t, base+"/readyz")
	})
	t.Run("refusals are counted by endpoint and reason", func(t *testing.T) {
		body := getWith(t, base+"/metrics", "Bearer "+testToken)
		for _, want := range []string{
			`exekra_metrics_refused_total{endpoint="metrics",reason="missing"} 7`,
			`exekra_metrics_refused_total{endpoint="metrics",reason="invalid"} 3`,
			`exekra_metrics_refused_total{endpoint="pprof",reason="missing"} 49`,
			`exekra_metrics_refused_total{endpoint="pprof",reason="invalid"} 21`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("/metrics lacks %q", want)
			}
		}
	})
	t.Run("the token is never logged", func(t *testing.T) {
		if strings.Contains(logs.String(), testToken) || strings.Contains(logs.String(), testToken[:16]) {
			t.Errorf("the log holds the token: %s", logs.String())
		}
	})
}

func TestARotatedTokenHoldsAtOnce(t *testing.T) {
	file := writeToken(t, testToken)
	srv := serve(t, metrics.New("runners"), file, nil)
	url := "http://" + srv.Addr() + "/metrics"
	getWith(t, url, "Bearer "+testToken)
	rotated := strings.Repeat("ab", 32)
	// Same length and, likely, the same modification time: the file is read again anyway.
	if err := os.WriteFile(file, []byte(rotated+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, url, "Bearer "+testToken)
	getWith(t, url, "Bearer "+rotated)
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	assertRefused(t, url, "Bearer "+rotated)
}

func TestWithoutAUsableTokenFileEverythingIsRefused(t *testing.T) {
	empty := writeToken(t, "  ")
	for name, file := range map[string]string{
		"unset": "", "missing": filepath.Join(t.TempDir(), "metrics.token"), "empty": empty,
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			srv := serve(t, metrics.New("audit"), file, &logs)
			base := "http://" + srv.Addr()
			for _, auth := range []string{"", "Bearer ", "Bearer " + testToken} {
				assertRefused(t, base+"/metrics", auth)
				assertRefused(t, base+"/debug/pprof/", auth)
			}
			if got := get(t, base+"/livez"); got != "ok\n" {
				t.Errorf("/livez = %q", got)
			}
			if n := strings.Count(logs.String(), "level=WARN"); n != 1 || !strings.Contains(logs.String(), metrics.TokenFileKey) {
				t.Errorf("want one warning naming %s, got %d:\n%s", metrics.TokenFileKey, n, logs.String())
			}
		})
	}
	t.Run("a usable file logs no warning", func(t *testing.T) {
		var logs bytes.Buffer
		srv := serve(t, metrics.New("audit"), writeToken(t, testToken), &logs)
		get(t, "http://"+srv.Addr()+"/livez")
		if strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("warned with a usable token file:\n%s", logs.String())
		}
	})
}

func TestTheTokenFileKeyIsASetting(t *testing.T) {
	if !slices.Contains(config.Keys(), metrics.TokenFileKey) {
		t.Fatalf("%s is not a setting of libs/config", metrics.TokenFileKey)
	}
}
