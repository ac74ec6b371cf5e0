package agent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeHub stands in for the gateway: it records every request and answers
// with respond (given the request's number, from 0).
type fakeHub struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []recorded
	respond func(n int, w http.ResponseWriter)
}

type recorded struct {
	method, path string
	header       http.Header
	body         []byte
	user, pass   string
	basic        bool
}

func newFakeHub(t *testing.T, respond func(n int, w http.ResponseWriter)) *fakeHub {
	t.Helper()
	h := &fakeHub{respond: respond}
	h.srv = httptest.NewTLSServer(h)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	user, pass, ok := r.BasicAuth()
	h.mu.Lock()
	n := len(h.reqs)
	h.reqs = append(h.reqs, recorded{r.Method, r.URL.Path, r.Header.Clone(), body, user, pass, ok})
	h.mu.Unlock()
	h.respond(n, w)
}

func (h *fakeHub) requests() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recorded(nil), h.reqs...)
}

// fingerprint is the pin of httptest's certificate.
func fingerprint(srv *httptest.Server) string {
	sum := sha256.Sum256(srv.Certificate().Raw)
	return hex.EncodeToString(sum[:])
}

// ok answers a heartbeat with interval seconds.
func ok(interval int) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"heartbeat_interval_seconds":`+strconv.Itoa(interval)+`,"server_time":"2026-06-01T12:00:00Z","cancel_job_ids":[]}`)
	}
}

// apiError answers status with an API error and extra headers.
func apiError(status int, code string, headers ...string) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.WriteHeader(status)
		io.WriteString(w, `{"error":{"code":"`+code+`","message":"test"}}`)
	}
}

// harness is an agent with a recorded sleep that ends the run after stopAfter waits.
type harness struct {
	agent  *Agent
	logs   *syncBuffer
	mu     sync.Mutex
	waits  []time.Duration
	onWait func(n int) // called before the n-th wait (from 1) returns
}

func newAgent(t *testing.T, cfg Config) (*harness, error) {
	t.Helper()
	if cfg.ID == "" {
		cfg.ID = testID
	}
	if cfg.SecretFile == "" {
		cfg.SecretFile = writeFile(t, "secret", testSecret+"\n", 0o600)
	}
	cfg.WorkDir = t.TempDir()
	h := &harness{logs: &syncBuffer{}}
	a, err := New(cfg, slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		return h, err
	}
	a.random = func() float64 { return 0.5 }
	a.sleep = h.sleep
	h.agent = a
	return h, nil
}

func (h *harness) sleep(ctx context.Context, d time.Duration) error {
	h.mu.Lock()
	h.waits = append(h.waits, d)
	n := len(h.waits)
	h.mu.Unlock()
	if h.onWait != nil {
		h.onWait(n)
	}
	return ctx.Err()
}

// run runs the agent until it stops itself or stopAfter waits have passed.
func (h *harness) run(t *testing.T, stopAfter int) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	prev := h.onWait
	h.onWait = func(n int) {
		if prev != nil {
			prev(n)
		}
		if n >= stopAfter {
			cancel()
		}
	}
	err := h.agent.Run(ctx)
	if ctx.Err() == context.DeadlineExceeded {
		t.Fatal("the agent did not stop")
	}
	if bytes.Contains(h.logs.Bytes(), []byte(testSecret)) || bytes.Contains(h.logs.Bytes(), []byte(testSecret[7:])) {
		t.Fatal("the secret is in the log")
	}
	return err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.b.Bytes()...)
}

// caFile writes the fake Hub's certificate as a PEM CA file.
func caFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hub.crt")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// listenOn starts srv's TLS on addr (to bring a Hub back on the same port).
func listenOn(t *testing.T, addr string, handler http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(handler)
	srv.Listener.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}
