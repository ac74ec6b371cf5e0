package httpapi

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/services/gateway/internal/websession"
)

const stubAdminToken = "exk_st_stub_admin"

// stubHub is the gateway's engine in front of stand-in services: identity
// knows one ADMIN session, licensing activates (renews) for anyone it is
// asked by and counts the activations.
type stubHub struct {
	h         http.Handler
	activated atomic.Int32
}

func newStubHub(t *testing.T, extra ...natsrpc.Endpoint) *stubHub {
	t.Helper()
	url := natstest.URL(t)
	nc := natstest.Connect(t, url)
	log := slog.New(slog.DiscardHandler)
	sh := &stubHub{}
	admin := identity.User{ID: "u-admin", Email: "admin@example.com", Role: identity.RoleAdmin}
	eps := append([]natsrpc.Endpoint{
		natsrpc.Handle(identity.SubjectAuthenticate, func(_ context.Context, r identity.AuthenticateRequest) (identity.Principal, error) {
			if r.Token != stubAdminToken {
				return identity.Principal{}, errs.E(errs.Unauthenticated, "the session is invalid or has ended")
			}
			return identity.Principal{User: admin, SessionID: "s-admin", ExpiresAt: time.Now().Add(time.Hour)}, nil
		}),
		natsrpc.Handle(licensing.SubjectActivate, func(ctx context.Context, _ licensing.ActivateRequest) (licensing.Status, error) {
			if caller.ActorFromContext(ctx).Role != identity.RoleAdmin {
				return licensing.Status{}, errs.E(errs.PermissionDenied, "only an ADMIN may renew the license")
			}
			sh.activated.Add(1)
			return licensing.Status{LicenseID: "lic-1", Status: licensing.StatusActive}, nil
		}),
	}, extra...)
	serveStubs(t, url, log, "stub-hub", eps)
	s := &Server{Log: log, Metrics: metrics.New("gateway"), NATS: natsrpc.NewClient(nc, nil), MaxBodyBytes: 1 << 20}
	e, err := s.Engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	sh.h = e
	return sh
}

func (sh *stubHub) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	sh.h.ServeHTTP(w, r)
	return w
}

func errorCode(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	json.Unmarshal(w.Body.Bytes(), &body)
	return body.Error.Code
}

// TestOpenRoutesCheckCSRFForCookies: POST /api/v1/license is open while no
// license is active, yet an ADMIN's session cookie alone renewed the license.
func TestOpenRoutesCheckCSRFForCookies(t *testing.T) {
	sh := newStubHub(t)
	renew := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/license", strings.NewReader(`{"license":"NEW"}`))
		r.Header.Set("Content-Type", "application/json")
		return r
	}
	t.Run("a renewal carried by an ADMIN's cookie alone is refused", func(t *testing.T) {
		r := renew()
		r.AddCookie(&http.Cookie{Name: websession.SessionCookie, Value: stubAdminToken})
		w := sh.serve(r)
		if w.Code != http.StatusForbidden || errorCode(t, w) != "permission_denied" {
			t.Fatalf("status %d, body %s; want 403 permission_denied", w.Code, w.Body)
		}
		if n := sh.activated.Load(); n != 0 {
			t.Fatalf("the license was renewed %d times", n)
		}
	})
	t.Run("a renewal with a CSRF token of another secret is refused", func(t *testing.T) {
		r := renew()
		r.AddCookie(&http.Cookie{Name: websession.SessionCookie, Value: stubAdminToken})
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: "YXR0YWNrZXItY2hvc2VuLWNzcmYtdG9rZW4tdmFsdWU"})
		r.Header.Set(websession.CSRFHeader, websession.Token("YXR0YWNrZXItY2hvc2VuLWNzcmYtdG9rZW4tdmFsdWU"))
		if w := sh.serve(r); w.Code != http.StatusForbidden || sh.activated.Load() != 0 {
			t.Fatalf("status %d, body %s; want 403 and no renewal", w.Code, w.Body)
		}
	})
	t.Run("the console's renewal with the session's CSRF token passes", func(t *testing.T) {
		r := renew()
		r.AddCookie(&http.Cookie{Name: websession.SessionCookie, Value: stubAdminToken})
		r.Header.Set(websession.CSRFHeader, websession.Token(stubAdminToken))
		if w := sh.serve(r); w.Code != http.StatusOK || sh.activated.Load() != 1 {
			t.Fatalf("status %d, body %s; want 200 and one renewal", w.Code, w.Body)
		}
	})
	t.Run("a bearer token needs no CSRF token", func(t *testing.T) {
		r := renew()
		r.Header.Set("Authorization", "Bearer "+stubAdminToken)
		if w := sh.serve(r); w.Code != http.StatusOK {
			t.Fatalf("status %d, body %s; want 200", w.Code, w.Body)
		}
	})
	t.Run("an anonymous activation needs no CSRF token", func(t *testing.T) {
		w := sh.serve(renew())
		if w.Code != http.StatusUnauthorized { // licensing refuses: a license is active in the stub
			t.Fatalf("status %d, body %s; want 401", w.Code, w.Body)
		}
	})
}
