package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exekra/hub/services/gateway/internal/console"
	"github.com/exekra/hub/services/gateway/internal/httpapi"
)

func TestCookieNamesMatchTheAPI(t *testing.T) {
	if console.SessionCookie != httpapi.SessionCookie || console.CSRFCookie != httpapi.CSRFCookie {
		t.Fatalf("console cookies %q/%q, API cookies %q/%q", console.SessionCookie, console.CSRFCookie, httpapi.SessionCookie, httpapi.CSRFCookie)
	}
}

func TestPageGuard(t *testing.T) {
	h := newHub(t, true)
	tests := []struct {
		name     string
		path     string
		session  string
		location string // a redirect, or "" for a page
		code     int
	}{
		{"anonymous is sent to sign in and back", "/users", "", "/login?next=%2Fusers", 0},
		{"the query survives the trip", "/audit?actor=a%40b.c", "", "/login?next=%2Faudit%3Factor%3Da%2540b.c", 0},
		{"an ended session counts as anonymous", "/license", "exk_st_ended", "/login?next=%2Flicense", 0},
		{"a developer is refused users", "/users", devToken, "", http.StatusForbidden},
		{"a developer is refused the license", "/license", devToken, "", http.StatusForbidden},
		{"a developer is refused the audit log", "/audit", devToken, "", http.StatusForbidden},
		{"a developer is refused a delete confirmation", "/users/u-admin/delete", devToken, "", http.StatusForbidden},
		{"an admin may open users", "/users", adminToken, "", http.StatusOK},
		{"an admin may open the audit log", "/audit", adminToken, "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := h.get(tt.path, tt.session)
			if tt.location != "" {
				wantRedirect(t, w, tt.location)
				return
			}
			wantPage(t, w, tt.code)
			if tt.code == http.StatusForbidden {
				wantPage(t, w, tt.code, "needs the ADMIN role", "signed in as DEVELOPER", `id="error-page"`)
			}
		})
	}
	t.Run("a form sent without a session goes to sign in, back to its page", func(t *testing.T) {
		wantRedirect(t, h.post("/users/u-dev/role", "", url.Values{"role": {"ADMIN"}}), "/login?next=%2Fusers")
	})
	t.Run("a developer's form is refused and changes nothing", func(t *testing.T) {
		wantPage(t, h.post("/users/u-dev/role", devToken, url.Values{"role": {"ADMIN"}}), http.StatusForbidden)
		h.fake.with(func(f *fakeHub) {
			if f.users[1].Role != "DEVELOPER" {
				t.Fatal("the role changed")
			}
		})
	})
}

func TestMenuFollowsTheRole(t *testing.T) {
	h := newHub(t, true)
	adminOnly := []string{`id="nav-users"`, `id="nav-license"`, `id="nav-audit"`}
	t.Run("a developer sees the dashboard but no admin pages", func(t *testing.T) {
		w := h.get("/", devToken)
		wantPage(t, w, http.StatusOK, `id="nav-dashboard"`, `id="nav-user" data-role="DEVELOPER">dev@example.com<`, `id="nav-logout"`, `action="/logout"`)
		wantNot(t, w, adminOnly...)
	})
	t.Run("an admin sees every page", func(t *testing.T) {
		wantPage(t, h.get("/", adminToken), http.StatusOK, append(adminOnly, `id="nav-dashboard"`, `id="nav-role">ADMIN<`)...)
	})
	t.Run("a 403 page offers no admin pages either", func(t *testing.T) {
		wantNot(t, h.get("/audit", devToken), adminOnly...)
	})
	t.Run("anonymous visitors see status and sign in only", func(t *testing.T) {
		w := h.get("/status", "")
		wantPage(t, w, http.StatusServiceUnavailable, `id="nav-status"`, `id="nav-login"`)
		wantNot(t, w, append(adminOnly, `id="nav-dashboard"`, `id="nav-logout"`)...)
	})
}

func TestCSRFCookie(t *testing.T) {
	h := newHub(t, true)
	t.Run("a page sets the cookie and puts it in every form", func(t *testing.T) {
		w := h.get("/login", "")
		ck := cookie(w, console.CSRFCookie)
		if ck == nil || len(ck.Value) != 43 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure {
			t.Fatalf("CSRF cookie = %+v", ck)
		}
		wantPage(t, w, http.StatusOK, `name="csrf" value="`+ck.Value+`"`)
	})
	t.Run("the cookie is Secure over TLS", func(t *testing.T) {
		if ck := cookie(h.serve(overTLS(request(http.MethodGet, "/login", nil, ""))), console.CSRFCookie); ck == nil || !ck.Secure {
			t.Fatalf("CSRF cookie over TLS = %+v", ck)
		}
	})
	t.Run("a page keeps an existing cookie", func(t *testing.T) {
		r := request(http.MethodGet, "/login", nil, "")
		r.AddCookie(&http.Cookie{Name: console.CSRFCookie, Value: csrfToken})
		w := h.serve(r)
		if cookie(w, console.CSRFCookie) != nil {
			t.Fatal("the cookie was replaced")
		}
		wantPage(t, w, http.StatusOK, `value="`+csrfToken+`"`)
	})
}

func TestCSRFRefusesForgedForms(t *testing.T) {
	h := newHub(t, true)
	form := func() url.Values { return url.Values{"email": {adminUser.Email}, "password": {password}} }
	refused := map[string]func() *http.Request{
		"a form without the cookie": func() *http.Request {
			f := form()
			f.Set("csrf", csrfToken)
			return request(http.MethodPost, "/login", f, "")
		},
		"a form without the field": func() *http.Request {
			r := request(http.MethodPost, "/login", form(), "")
			r.AddCookie(&http.Cookie{Name: console.CSRFCookie, Value: csrfToken})
			return r
		},
		"a form with a wrong field": func() *http.Request {
			f := form()
			f.Set("csrf", strings.Repeat("x", 43))
			r := request(http.MethodPost, "/login", f, "")
			r.AddCookie(&http.Cookie{Name: console.CSRFCookie, Value: csrfToken})
			return r
		},
		"a signed-in admin's form with a wrong field": func() *http.Request {
			r := request(http.MethodPost, "/users", url.Values{"email": {"x@example.com"}, "csrf": {"nope"}}, adminToken)
			r.AddCookie(&http.Cookie{Name: console.CSRFCookie, Value: csrfToken})
			return r
		},
	}
	for name, build := range refused {
		t.Run(name+" is refused", func(t *testing.T) {
			w := h.serve(build())
			wantPage(t, w, http.StatusForbidden, "This form has expired")
			if cookie(w, console.SessionCookie) != nil {
				t.Fatal("signed in despite the CSRF failure")
			}
		})
	}
	t.Run("a form with the matching field passes", func(t *testing.T) {
		wantRedirect(t, h.post("/login", "", form()), "/")
	})
}
