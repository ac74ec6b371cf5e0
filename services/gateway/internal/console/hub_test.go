package console_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/gateway/internal/console"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/exekra/hub/services/gateway/internal/httpapi"
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
)

// csrfToken is a well-formed pre-session secret for the CSRF cookie (43 base64url characters).
const csrfToken = "c3JmLXRva2VuLWZvci10aGUtY29uc29sZS10ZXN0czE"

// quiet drops go-redis's own log lines: the tests' Redis is deliberately unreachable.
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }

// hub is the gateway's real engine (httpapi middleware, Authenticate, the
// console) talking over an in-process NATS to the fake services.
type hub struct {
	t    *testing.T
	fake *fakeHub // nil when no back end answers
	h    http.Handler
}

func newHub(t *testing.T, withBackEnds bool) *hub {
	t.Helper()
	nc := natstest.Conn(t)
	client := natsrpc.NewClient(nc, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { rdb.Close() })
	api := &httpapi.Server{Log: log, Metrics: metrics.New("gateway"), NATS: client, MaxBodyBytes: 1 << 20,
		Health: &healthcheck.Checker{NATS: client, Redis: rdb, Started: time.Now(), Timeout: 300 * time.Millisecond}}
	con := &console.Console{Log: log, Health: api.Health, NATS: client, Principal: httpapi.Principal,
		Setup: func(c *gin.Context) (console.SetupState, error) {
			st, err := api.SetupState(c)
			return console.SetupState{Licensed: st.Licensed, Bootstrapped: st.Bootstrapped}, err
		}}
	var mountErr error
	engine, err := api.Engine(func(e *gin.Engine) { mountErr = con.Mount(e) })
	if err := errors.Join(err, mountErr); err != nil {
		t.Fatalf("build the engine: %v", err)
	}
	h := &hub{t: t, h: engine}
	if withBackEnds {
		h.fake = newFakeHub()
		h.fake.serve(t, nc)
	}
	return h
}

// request builds a request from 192.0.2.1 with the given session cookie.
func request(method, path string, form url.Values, session string) *http.Request {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, path, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		r.AddCookie(&http.Cookie{Name: websession.SessionCookie, Value: session})
	}
	return r
}

func (h *hub) serve(r *http.Request) *httptest.ResponseRecorder {
	h.t.Helper()
	w := httptest.NewRecorder()
	h.h.ServeHTTP(w, r)
	return w
}

func (h *hub) get(path, session string) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.serve(request(http.MethodGet, path, nil, session))
}

// post sends a form with the CSRF token a console page would have put in it:
// bound to the session, or before sign-in to the pre-session cookie csrfToken.
func (h *hub) post(path, session string, form url.Values) *httptest.ResponseRecorder {
	h.t.Helper()
	return h.serve(postRequest(path, session, form))
}

func postRequest(path, session string, form url.Values) *http.Request {
	if form == nil {
		form = url.Values{}
	}
	secret := session
	if secret == "" {
		secret = csrfToken
	}
	form.Set(websession.CSRFField, websession.Token(secret))
	r := request(http.MethodPost, path, form, session)
	r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
	return r
}

func overTLS(r *http.Request) *http.Request {
	r.TLS = &tls.ConnectionState{HandshakeComplete: true}
	return r
}

// cookie returns the Set-Cookie of name in w, or nil.
func cookie(w *httptest.ResponseRecorder, name string) *http.Cookie {
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func wantRedirect(t *testing.T, w *httptest.ResponseRecorder, location string) {
	t.Helper()
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != location {
		t.Fatalf("got %d Location %q, want 303 to %q; body: %.300s", w.Code, w.Header().Get("Location"), location, w.Body.String())
	}
}

func wantPage(t *testing.T, w *httptest.ResponseRecorder, code int, has ...string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d; body: %.500s", w.Code, code, w.Body.String())
	}
	for _, s := range has {
		if !strings.Contains(w.Body.String(), s) {
			t.Errorf("page lacks %q", s)
		}
	}
}

func wantNot(t *testing.T, w *httptest.ResponseRecorder, lacks ...string) {
	t.Helper()
	for _, s := range lacks {
		if strings.Contains(w.Body.String(), s) {
			t.Errorf("page has %q, should not", s)
		}
	}
}
