package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func init() { gin.SetMode(gin.TestMode) }

// logBuffer is a concurrency-safe log sink tests can read back.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newLog() (*slog.Logger, *logBuffer) {
	buf := &logBuffer{}
	return slog.New(slog.NewJSONHandler(buf, nil)), buf
}

func serve(t *testing.T, r http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	return w
}

func envelope(t *testing.T, w *httptest.ResponseRecorder) web.ErrorDetail {
	t.Helper()
	var body web.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("response %q is not the error envelope: %v", w.Body.String(), err)
	}
	return body.Error
}

func TestWriteErrorWritesTheEnvelope(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		status     int
		code       string
		message    string
		retryAfter string
	}{
		{"a not-found error is a 404 with its message", errs.E(errs.NotFound, "runner not found"), 404, "not_found", "runner not found", ""},
		{"a wrapped conflict keeps its kind", errors.Join(errs.E(errs.Conflict, "name taken")), 409, "conflict", "name taken", ""},
		{"a rate-limited error carries Retry-After", errs.E(errs.RateLimited, "slow down"), 429, "rate_limited", "slow down", "1"},
		{"a throttled error's delay is rounded up into Retry-After", errs.Throttled("wait", 2100*time.Millisecond), 429, "rate_limited", "wait", "3"},
		{"a plain error is a generic 500", errors.New("pq: password=hunter2 refused"), 500, "internal", "internal error; see the Hub logs", ""},
		{"an internal error's cause is hidden", errs.Wrap(errs.Internal, "db exploded", errors.New("hunter2")), 500, "internal", "internal error; see the Hub logs", ""},
		{"a body the bus cannot carry is a 413, its cause logged", errs.Wrap(errs.PayloadTooLarge, "too large", errors.New("hunter2: 2000000 bytes")), 413, "payload_too_large", "too large", ""},
		{"a process out of open files is a 503, its cause logged", fmt.Errorf("spool package: %w", &os.PathError{Op: "open", Path: "/tmp/hunter2.zip", Err: syscall.EMFILE}),
			503, "unavailable", "the Hub is short of open files right now; try again shortly", ""},
		{"a system out of open files is a 503 too", fmt.Errorf("hunter2: %w", syscall.ENFILE), 503, "unavailable", "the Hub is short of open files right now; try again shortly", ""},
		{"an unavailable service is a 503, its cause logged", errs.Wrap(errs.Unavailable, "try again", errors.New("hunter2: no responders")), 503, "unavailable", "try again", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := newLog()
			r := gin.New()
			r.GET("/x", func(c *gin.Context) { web.WriteError(c, log, tt.err) })
			w := serve(t, r, httptest.NewRequest("GET", "/x", nil))
			if w.Code != tt.status {
				t.Errorf("status = %d, want %d", w.Code, tt.status)
			}
			if got := envelope(t, w); got.Code != tt.code || got.Message != tt.message {
				t.Errorf("envelope = %+v, want %s %q", got, tt.code, tt.message)
			}
			if got := w.Header().Get("Retry-After"); got != tt.retryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
			}
			if strings.Contains(w.Body.String(), "hunter2") {
				t.Errorf("response shows the cause: %s", w.Body)
			}
			if tt.code != "not_found" && tt.code != "conflict" && tt.code != "rate_limited" && !strings.Contains(logs.String(), "hunter2") {
				t.Errorf("the cause was not logged: %s", logs)
			}
		})
	}
}

// A request whose client went away is recorded as 499, not as a 503 the
// Hub's alerts would count; the same error while the client waits is a 503.
func TestWriteErrorOfAClientGone(t *testing.T) {
	canceled := errs.Wrap(errs.Unavailable, "the Hub's message bus is unavailable",
		fmt.Errorf("exekra.runners.v1.runners.get: %w", context.Canceled))
	reg := metrics.New("gateway")
	log, logs := newLog()
	r := gin.New()
	r.Use(web.Metrics(reg))
	r.GET("/x", func(c *gin.Context) { web.WriteError(c, log, canceled) })

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	gone := serve(t, r, httptest.NewRequest("GET", "/x", nil).WithContext(ctx))
	if gone.Code != web.StatusClientClosedRequest || gone.Body.Len() != 0 {
		t.Errorf("client gone: status %d, body %q; want 499 and no body", gone.Code, gone.Body)
	}
	if strings.Contains(logs.String(), "request refused") {
		t.Errorf("a client gone was logged as refused: %s", logs)
	}
	if n := testutil.ToFloat64(reg.HTTPRequests.WithLabelValues("/x", "GET", "499")); n != 1 {
		t.Errorf("exekra_http_requests_total{code=\"499\"} = %v; want 1", n)
	}

	waiting := serve(t, r, httptest.NewRequest("GET", "/x", nil))
	if waiting.Code != http.StatusServiceUnavailable {
		t.Errorf("client waiting: status %d; want 503", waiting.Code)
	}
}

func TestWrapWritesOnlyFailures(t *testing.T) {
	log, _ := newLog()
	r := gin.New()
	r.GET("/ok", web.Wrap(log, func(c *gin.Context) error { c.JSON(200, gin.H{"ok": true}); return nil }))
	r.GET("/fail", web.Wrap(log, func(c *gin.Context) error { return errs.E(errs.PermissionDenied, "admins only") }))
	t.Run("a handler that succeeds writes its own response", func(t *testing.T) {
		w := serve(t, r, httptest.NewRequest("GET", "/ok", nil))
		if w.Code != 200 || w.Body.String() != `{"ok":true}` {
			t.Fatalf("got %d %s", w.Code, w.Body)
		}
	})
	t.Run("a handler that fails gets the envelope", func(t *testing.T) {
		w := serve(t, r, httptest.NewRequest("GET", "/fail", nil))
		if got := envelope(t, w); w.Code != 403 || got.Code != "permission_denied" || got.Message != "admins only" {
			t.Fatalf("got %d %+v", w.Code, got)
		}
	})
}

func TestCallerSetsTheRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		kept     bool
	}{
		{"a well-formed id is kept", "req-0123_abc.DEF", true},
		{"a missing id is generated", "", false},
		{"an id with a line break is replaced", "abc\r\nSet-Cookie: x=1", false},
		{"an id with spaces is replaced", "abc def", false},
		{"an overlong id is replaced", strings.Repeat("a", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen caller.Info
			r := gin.New()
			r.Use(web.Caller())
			r.GET("/x", func(c *gin.Context) { seen = caller.From(c.Request.Context()) })
			req := httptest.NewRequest("GET", "/x", nil)
			req.RemoteAddr = "192.0.2.7:5555"
			if tt.incoming != "" {
				req.Header[web.HeaderRequestID] = []string{tt.incoming}
			}
			w := serve(t, r, req)
			got := w.Header().Get(web.HeaderRequestID)
			if tt.kept && got != tt.incoming {
				t.Errorf("X-Request-Id = %q, want the incoming %q", got, tt.incoming)
			}
			if !tt.kept && (got == tt.incoming || len(got) != 36) {
				t.Errorf("X-Request-Id = %q, want a fresh UUID", got)
			}
			if seen.RequestID != got || seen.SourceIP != "192.0.2.7" {
				t.Errorf("context caller = %+v, want id %q from 192.0.2.7", seen, got)
			}
		})
	}
}

type createRunner struct {
	Name   string   `json:"name"`
	Labels []string `json:"labels"`
	Slots  int      `json:"slots"`
}

func decodeRouter(log *slog.Logger, limit int64) *gin.Engine {
	r := gin.New()
	r.Use(web.BodyLimit(log, limit))
	r.POST("/runners", web.Wrap(log, func(c *gin.Context) error {
		var req createRunner
		if err := web.DecodeJSON(c, &req); err != nil {
			return err
		}
		c.JSON(201, req)
		return nil
	}))
	return r
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		status      int
		want        string // in the message
	}{
		{"a valid object is decoded", "application/json", `{"name":"r1","labels":["linux"],"slots":2}`, 201, ""},
		{"a charset parameter is accepted", "application/json; charset=utf-8", `{"name":"r1"}`, 201, ""},
		{"a media type is matched without regard to case", "Application/JSON", `{"name":"r1"}`, 201, ""},
		{"a missing content type is accepted", "", `{"name":"r1"}`, 201, ""},
		{"an unknown field is refused by name", "application/json", `{"name":"r1","colour":"red"}`, 400, `"colour"`},
		{"malformed JSON is refused", "application/json", `{"name":`, 400, "not valid JSON"},
		{"a syntax error is refused", "application/json", `{"name" "r1"}`, 400, "not valid JSON"},
		{"an empty body is refused", "application/json", ``, 400, "empty"},
		{"trailing garbage is refused", "application/json", `{"name":"r1"} xyz`, 400, "exactly one JSON object"},
		{"a second object is refused", "application/json", `{"name":"r1"}{"name":"r2"}`, 400, "exactly one JSON object"},
		{"a wrong type names the field", "application/json", `{"slots":"two"}`, 400, `"slots"`},
		{"an array instead of an object is refused", "application/json", `[1,2]`, 400, "must be a JSON object"},
		{"another content type is refused", "text/plain", `{"name":"r1"}`, 400, "Content-Type must be application/json"},
	}
	log, _ := newLog()
	r := decodeRouter(log, 1<<10)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/runners", strings.NewReader(tt.body))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			w := serve(t, r, req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.status == 201 {
				return
			}
			got := envelope(t, w)
			if got.Code != "invalid_argument" || !strings.Contains(got.Message, tt.want) {
				t.Fatalf("envelope = %+v, want invalid_argument mentioning %q", got, tt.want)
			}
			if strings.Contains(got.Message, "web_test") || strings.Contains(got.Message, "createRunner") {
				t.Errorf("message %q names a Go type", got.Message)
			}
		})
	}
}

func TestBodyLimitRefusesLargeBodies(t *testing.T) {
	log, _ := newLog()
	srv := httptest.NewServer(decodeRouter(log, 64))
	defer srv.Close()
	big := `{"name":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name    string
		body    io.Reader
		chunked bool
	}{
		{"a declared Content-Length over the limit is refused", strings.NewReader(big), false},
		{"a chunked body over the limit is refused while reading", io.MultiReader(strings.NewReader(big)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", srv.URL+"/runners", tt.body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			if tt.chunked != (req.ContentLength <= 0) {
				t.Fatalf("request ContentLength = %d; the case is not what it says", req.ContentLength)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body web.ErrorBody
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 413 || body.Error.Code != "payload_too_large" || !strings.Contains(body.Error.Message, "64 bytes") {
				t.Fatalf("got %d %+v, want 413 payload_too_large naming 64 bytes", resp.StatusCode, body.Error)
			}
		})
	}
	t.Run("a body under the limit passes", func(t *testing.T) {
		resp, err := srv.Client().Post(srv.URL+"/runners", "application/json", strings.NewReader(`{"name":"r1"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("status = %d, want 201", resp.StatusCode)
		}
	})
}

func TestRecoverTurnsAPanicIntoA500(t *testing.T) {
	log, logs := newLog()
	r := gin.New()
	r.Use(web.Recover(log))
	r.GET("/boom", func(c *gin.Context) { panic("secret detail") })
	r.GET("/ok", func(c *gin.Context) { c.String(200, "ok") })
	w := serve(t, r, httptest.NewRequest("GET", "/boom", nil))
	if got := envelope(t, w); w.Code != 500 || got.Code != "internal" {
		t.Fatalf("got %d %+v, want 500 internal", w.Code, got)
	}
	if strings.Contains(w.Body.String(), "secret detail") {
		t.Errorf("the panic value reached the client: %s", w.Body)
	}
	if !strings.Contains(logs.String(), "secret detail") {
		t.Errorf("the panic was not logged: %s", logs)
	}
	t.Run("the router keeps serving", func(t *testing.T) {
		if w := serve(t, r, httptest.NewRequest("GET", "/ok", nil)); w.Code != 200 {
			t.Fatalf("status = %d", w.Code)
		}
	})
}

func TestMetricsCountsByRouteTemplate(t *testing.T) {
	reg := metrics.New("gateway")
	r := gin.New()
	r.Use(web.Metrics(reg))
	r.GET("/x/:id", func(c *gin.Context) { c.String(200, c.Param("id")) })
	for _, path := range []string{"/x/1", "/x/2", "/nowhere/3"} {
		serve(t, r, httptest.NewRequest("GET", path, nil))
	}
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"two ids count under one template", []string{"/x/:id", "GET", "200"}, 2},
		{"an unmatched path counts as unmatched", []string{"unmatched", "GET", "404"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := testutil.ToFloat64(reg.HTTPRequests.WithLabelValues(tt.labels...)); got != tt.want {
				t.Fatalf("count%v = %v, want %v", tt.labels, got, tt.want)
			}
		})
	}
	if n := testutil.CollectAndCount(reg.HTTPRequests); n != 2 {
		t.Errorf("HTTPRequests has %d series, want 2 (no raw paths)", n)
	}
}

func TestSecurityHeaders(t *testing.T) {
	tests := []struct {
		name  string
		https bool
		hsts  bool
	}{
		{"plain HTTP gets no HSTS", false, false},
		{"HTTPS gets HSTS", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gin.New()
			r.Use(web.SecurityHeaders(tt.https))
			r.GET("/", func(c *gin.Context) { c.Status(204) })
			w := serve(t, r, httptest.NewRequest("GET", "/", nil))
			if w.Header().Get("X-Content-Type-Options") != "nosniff" || w.Header().Get("X-Frame-Options") != "DENY" {
				t.Errorf("missing headers: %v", w.Header())
			}
			if got := w.Header().Get("Strict-Transport-Security") != ""; got != tt.hsts {
				t.Errorf("HSTS present = %v, want %v", got, tt.hsts)
			}
		})
	}
}

func TestAccessLogWritesOneLinePerRequest(t *testing.T) {
	log, logs := newLog()
	r := gin.New()
	r.Use(web.Caller(), web.AccessLog(log))
	r.GET("/x/:id", func(c *gin.Context) { c.Status(204) })
	req := httptest.NewRequest("GET", "/x/42", nil)
	req.Header.Set(web.HeaderRequestID, "abc")
	serve(t, r, req)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d log lines, want 1: %s", len(lines), logs)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["route"] != "/x/:id" || rec["status"] != float64(204) || rec["method"] != "GET" {
		t.Fatalf("log line = %v", rec)
	}
}

func TestRemoveFormFilesRemovesWhatACopyParsed(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	e := gin.New()
	e.Use(web.RemoveFormFiles(slog.New(slog.DiscardHandler)))
	e.POST("/upload", func(c *gin.Context) {
		c.Request = c.Request.WithContext(c.Request.Context()) // what middleware does
		if err := c.Request.ParseMultipartForm(1 << 10); err != nil {
			t.Errorf("parse: %v", err)
		}
		c.Status(http.StatusNoContent)
	})
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("f", "f.bin")
	part.Write(make([]byte, 16<<10)) // over the 1 KiB kept in memory: spilled to a file
	mw.Close()
	r := httptest.NewRequest(http.MethodPost, "/upload", &body)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	e.ServeHTTP(httptest.NewRecorder(), r)
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Fatalf("temp files left after the request: %v", entries)
	}
}

func TestNoStore(t *testing.T) {
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	web.NoStore(c)
	if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Pragma") != "no-cache" {
		t.Fatalf("headers = %v", w.Header())
	}
}
