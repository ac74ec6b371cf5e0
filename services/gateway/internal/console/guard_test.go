package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/exekra/hub/services/gateway/internal/websession"
)

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
	t.Run("a page sets the pre-session cookie and puts its token in every form", func(t *testing.T) {
		w := h.get("/login", "")
		ck := cookie(w, websession.CSRFCookie)
		if ck == nil || len(ck.Value) != 43 || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || !ck.Secure {
			t.Fatalf("CSRF cookie = %+v", ck)
		}
		wantPage(t, w, http.StatusOK, `name="csrf" value="`+websession.Token(ck.Value)+`"`)
		wantNot(t, w, `value="`+ck.Value+`"`)
	})
	t.Run("a page keeps an existing cookie", func(t *testing.T) {
		r := request(http.MethodGet, "/login", nil, "")
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
		w := h.serve(r)
		if cookie(w, websession.CSRFCookie) != nil {
			t.Fatal("the cookie was replaced")
		}
		wantPage(t, w, http.StatusOK, `value="`+websession.Token(csrfToken)+`"`)
	})
	t.Run("a signed-in page's forms are bound to the session", func(t *testing.T) {
		w := h.get("/", adminToken)
		wantPage(t, w, http.StatusOK, `name="csrf" value="`+websession.Token(adminToken)+`"`)
		if cookie(w, websession.CSRFCookie) != nil {
			t.Fatal("a signed-in page set a pre-session cookie")
		}
	})
}

func TestCSRFRefusesForgedForms(t *testing.T) {
	h := newHub(t, true)
	form := func() url.Values { return url.Values{"email": {adminUser.Email}, "password": {password}} }
	refused := map[string]func() *http.Request{
		"a form without the cookie": func() *http.Request {
			f := form()
			f.Set("csrf", websession.Token(csrfToken))
			return request(http.MethodPost, "/login", f, "")
		},
		"a form without the field": func() *http.Request {
			r := request(http.MethodPost, "/login", form(), "")
			r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
			return r
		},
		"a form with a wrong field": func() *http.Request {
			f := form()
			f.Set("csrf", strings.Repeat("x", 43))
			r := request(http.MethodPost, "/login", f, "")
			r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
			return r
		},
		"a signed-in admin's form with a wrong field": func() *http.Request {
			r := request(http.MethodPost, "/users", url.Values{"email": {"x@example.com"}, "csrf": {"nope"}}, adminToken)
			r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
			return r
		},
	}
	for name, build := range refused {
		t.Run(name+" is refused", func(t *testing.T) {
			w := h.serve(build())
			wantPage(t, w, http.StatusForbidden, "This form has expired")
			if cookie(w, websession.SessionCookie) != nil {
				t.Fatal("signed in despite the CSRF failure")
			}
		})
	}
	t.Run("a form with the matching field passes", func(t *testing.T) {
		wantRedirect(t, h.post("/login", "", form()), "/")
	})
}

// TestCSRFTokenIsBoundToTheSession: a cookie and field pair an attacker chose
// (any equal pair passed the double-submit check) created an ADMIN from a
// same-site origin that can set cookies.
func TestCSRFTokenIsBoundToTheSession(t *testing.T) {
	h := newHub(t, true)
	const chosen = "YXR0YWNrZXItY2hvc2VuLWNzcmYtdG9rZW4tdmFsdWU" // well-formed, the attacker's own
	evil := url.Values{"email": {"evil@example.com"}, "name": {"Evil"}, "role": {"ADMIN"}, "password": {password}, websession.CSRFField: {chosen}}
	t.Run("an attacker-chosen pair with an ADMIN's session is refused", func(t *testing.T) {
		r := request(http.MethodPost, "/users", evil, adminToken)
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: chosen})
		wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
		h.fake.with(func(f *fakeHub) {
			for _, u := range f.users {
				if u.Email == "evil@example.com" {
					t.Fatal("the attacker's ADMIN was created")
				}
			}
		})
	})
	t.Run("an attacker-chosen pair before sign-in is refused", func(t *testing.T) {
		r := request(http.MethodPost, "/login", url.Values{"email": {adminUser.Email}, "password": {password}, websession.CSRFField: {chosen}}, "")
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: chosen})
		w := h.serve(r)
		wantPage(t, w, http.StatusForbidden, "This form has expired")
		if cookie(w, websession.SessionCookie) != nil {
			t.Fatal("signed in with an attacker-chosen pair")
		}
	})
	t.Run("the token of one session does not pass for another", func(t *testing.T) {
		page := h.get("/", devToken)
		devCSRF := formToken(t, page)
		r := request(http.MethodPost, "/users", url.Values{"email": {"evil@example.com"}, "role": {"ADMIN"}, websession.CSRFField: {devCSRF}}, adminToken)
		for _, ck := range page.Result().Cookies() {
			r.AddCookie(ck)
		}
		wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
	})
}

// TestCookiesAreHostOnly: the session and CSRF cookies carry the __Host-
// prefix, so no other host (a sibling sub-domain) can plant or overwrite them.
func TestCookiesAreHostOnly(t *testing.T) {
	h := newHub(t, true)
	host := func(t *testing.T, ck *http.Cookie) {
		t.Helper()
		if ck == nil || !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || ck.Path != "/" || ck.Domain != "" ||
			!ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
			t.Fatalf("cookie = %+v, want __Host-, Secure, Path=/, no Domain, HttpOnly, SameSite=Strict", ck)
		}
	}
	page := h.get("/login", "")
	host(t, cookie(page, websession.CSRFCookie))
	r := request(http.MethodPost, "/login", url.Values{"email": {adminUser.Email}, "password": {password}, websession.CSRFField: {formToken(t, page)}}, "")
	for _, ck := range page.Result().Cookies() {
		r.AddCookie(ck)
	}
	w := h.serve(r)
	wantRedirect(t, w, "/")
	host(t, cookie(w, websession.SessionCookie))
}

// TestConsoleFlowWithRenderedTokens signs in, acts and signs out with nothing
// but what the pages handed out: cookies and the forms' csrf fields.
func TestConsoleFlowWithRenderedTokens(t *testing.T) {
	h := newHub(t, true)
	jar := map[string]*http.Cookie{}
	send := func(method, path string, form url.Values, refer *httptest.ResponseRecorder) *httptest.ResponseRecorder {
		t.Helper()
		if refer != nil {
			form.Set(websession.CSRFField, formToken(t, refer))
		}
		r := request(method, path, form, "")
		for _, ck := range jar {
			r.AddCookie(ck)
		}
		w := h.serve(r)
		for _, ck := range w.Result().Cookies() {
			if ck.MaxAge < 0 {
				delete(jar, ck.Name)
			} else {
				jar[ck.Name] = ck
			}
		}
		return w
	}
	login := send(http.MethodGet, "/login", nil, nil)
	wantRedirect(t, send(http.MethodPost, "/login", url.Values{"email": {adminUser.Email}, "password": {password}}, login), "/")
	users := send(http.MethodGet, "/users", nil, nil)
	wantPage(t, users, http.StatusOK)
	wantRedirect(t, send(http.MethodPost, "/users", url.Values{"email": {"new@example.com"}, "name": {"New"}, "role": {"OPERATOR"}, "password": {password}}, users),
		"/users?flash=user_created")
	wantRedirect(t, send(http.MethodPost, "/logout", url.Values{}, users), "/login?flash=signed_out")
	if _, ok := jar[websession.SessionCookie]; ok {
		t.Fatal("still holding the session cookie after signing out")
	}
	again := send(http.MethodGet, "/login", nil, nil)
	wantRedirect(t, send(http.MethodPost, "/login", url.Values{"email": {adminUser.Email}, "password": {password}}, again), "/")
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken is the csrf field of the first form on a rendered page.
func formToken(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	m := csrfInput.FindStringSubmatch(w.Body.String())
	if m == nil {
		t.Fatalf("no csrf field on the page: %.300s", w.Body.String())
	}
	return m[1]
}
