package console_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/exekra/hub/services/gateway/internal/websession"
)

func TestHomeLeadsThroughSetup(t *testing.T) {
	h := newHub(t, true)
	tests := []struct {
		name                   string
		licensed, bootstrapped bool
		session                string
		location               string
	}{
		{"no license: activate it", false, false, "", "/activate"},
		{"no administrator: create one", true, false, "", "/bootstrap"},
		{"set up, nobody signed in: sign in", true, true, "", "/login"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.fake.with(func(f *fakeHub) { f.licensed, f.bootstrapped = tt.licensed, tt.bootstrapped })
			wantRedirect(t, h.get("/", tt.session), tt.location)
		})
	}
}

func TestActivate(t *testing.T) {
	h := newHub(t, true)
	h.fake.with(func(f *fakeHub) { f.licensed, f.bootstrapped = false, false })
	t.Run("the form is offered while no license is active", func(t *testing.T) {
		wantPage(t, h.get("/activate", ""), http.StatusOK, `id="activate-license"`, `id="activate-file"`, `id="activate-submit"`)
	})
	t.Run("an empty form is refused inline", func(t *testing.T) {
		wantPage(t, h.post("/activate", "", url.Values{"license": {"  "}}), http.StatusBadRequest, `id="error"`, "Paste the file")
	})
	t.Run("a bad license is refused inline and kept in the form", func(t *testing.T) {
		wantPage(t, h.post("/activate", "", url.Values{"license": {"FORGED <b>"}}), http.StatusBadRequest,
			"the license signature is not valid", "FORGED &lt;b&gt;</textarea>")
	})
	t.Run("a good license leads on to the first administrator", func(t *testing.T) {
		wantRedirect(t, h.post("/activate", "", url.Values{"license": {goodLic}}), "/bootstrap?flash=license_activated")
	})
	t.Run("once active, an anonymous visitor is sent to sign in", func(t *testing.T) {
		wantRedirect(t, h.get("/activate", ""), "/login")
	})
	t.Run("once active, an admin renews on the license page", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.bootstrapped = true })
		wantRedirect(t, h.get("/activate", adminToken), "/license")
	})
	t.Run("an anonymous renewal is told to sign in", func(t *testing.T) {
		wantPage(t, h.post("/activate", "", url.Values{"license": {goodLic}}), http.StatusForbidden, "sign in as an ADMIN to renew it")
	})
}

func TestBootstrap(t *testing.T) {
	h := newHub(t, true)
	h.fake.with(func(f *fakeHub) { f.bootstrapped = false })
	form := func(email, pw, confirm string) url.Values {
		return url.Values{"email": {email}, "name": {"Ada"}, "password": {pw}, "confirm": {confirm}}
	}
	t.Run("the form is offered", func(t *testing.T) {
		wantPage(t, h.get("/bootstrap", ""), http.StatusOK, `id="bootstrap-email"`, `id="bootstrap-name"`,
			`id="bootstrap-password"`, `id="bootstrap-confirm"`, `id="bootstrap-submit"`)
	})
	t.Run("differing passwords are refused before identity is asked", func(t *testing.T) {
		w := h.post("/bootstrap", "", form(adminUser.Email, password, "other"))
		wantPage(t, w, http.StatusBadRequest, "The two passwords differ", `value="admin@example.com"`)
	})
	t.Run("an email other than the license's is refused inline", func(t *testing.T) {
		wantPage(t, h.post("/bootstrap", "", form("eve@example.com", password, password)), http.StatusBadRequest, "the license&#39;s admin email")
	})
	t.Run("success leads to sign in with a confirmation", func(t *testing.T) {
		wantRedirect(t, h.post("/bootstrap", "", form(adminUser.Email, password, password)), "/login?flash=bootstrapped")
		wantPage(t, h.get("/login?flash=bootstrapped", ""), http.StatusOK, `id="flash"`, "Administrator created; sign in.")
	})
	t.Run("a second bootstrap goes to sign in", func(t *testing.T) {
		wantRedirect(t, h.post("/bootstrap", "", form(adminUser.Email, password, password)), "/login")
		wantRedirect(t, h.get("/bootstrap", ""), "/login")
	})
}

func TestLogin(t *testing.T) {
	h := newHub(t, true)
	creds := func(email, pw, next string) url.Values {
		return url.Values{"email": {email}, "password": {pw}, "next": {next}}
	}
	t.Run("the session cookie is HttpOnly, Strict, Secure and lives as long as the session", func(t *testing.T) {
		w := h.serve(overTLS(postRequest("/login", "", creds(adminUser.Email, password, "/users"))))
		wantRedirect(t, w, "/users")
		ck := cookie(w, websession.SessionCookie)
		if ck == nil || ck.Value != "exk_st_u-admin" || !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
			t.Fatalf("session cookie = %+v", ck)
		}
		if !ck.Expires.Equal(time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)) {
			t.Fatalf("expires %v", ck.Expires)
		}
		if csrf := cookie(w, websession.CSRFCookie); csrf == nil || csrf.Value == csrfToken {
			t.Fatalf("the CSRF token was not renewed: %+v", csrf)
		}
	})
	t.Run("without TLS the cookie is Secure too (__Host- requires it)", func(t *testing.T) {
		if ck := cookie(h.post("/login", "", creds(adminUser.Email, password, "")), websession.SessionCookie); ck == nil || !ck.Secure {
			t.Fatalf("session cookie = %+v", ck)
		}
	})
	for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "/logout"} {
		t.Run("next "+next+" is not followed", func(t *testing.T) {
			wantRedirect(t, h.post("/login", "", creds(adminUser.Email, password, next)), "/")
		})
	}
	t.Run("wrong credentials are shown inline, the email kept", func(t *testing.T) {
		w := h.post("/login", "", creds(adminUser.Email, "nope", "/audit"))
		wantPage(t, w, http.StatusUnauthorized, "wrong email or password", `value="admin@example.com"`, `id="login-next" name="next" value="/audit"`)
		if cookie(w, websession.SessionCookie) != nil {
			t.Fatal("a cookie was set")
		}
	})
	t.Run("rate limiting shows when to retry", func(t *testing.T) {
		w := h.post("/login", "", creds("rate@example.com", password, ""))
		wantPage(t, w, http.StatusTooManyRequests, "retry in 30 seconds")
		if w.Header().Get("Retry-After") != "30" {
			t.Fatalf("Retry-After = %q", w.Header().Get("Retry-After"))
		}
	})
	t.Run("a signed-in user opening sign in goes on", func(t *testing.T) {
		wantRedirect(t, h.get("/login?next=%2Faudit", adminToken), "/audit")
	})
	t.Run("the login page keeps a safe next", func(t *testing.T) {
		wantPage(t, h.get("/login?next=%2Fusers%3Fcursor%3D2", ""), http.StatusOK, `id="login-next" name="next" value="/users?cursor=2"`,
			`id="login-email"`, `id="login-password"`, `id="login-submit"`)
	})
}

func TestLogout(t *testing.T) {
	h := newHub(t, true)
	w := h.serve(overTLS(postRequest("/logout", devToken, nil)))
	wantRedirect(t, w, "/login?flash=signed_out")
	ck := cookie(w, websession.SessionCookie)
	if ck == nil || ck.MaxAge >= 0 || ck.Value != "" || !ck.HttpOnly || !ck.Secure {
		t.Fatalf("cleared cookie = %+v", ck)
	}
	h.fake.with(func(f *fakeHub) {
		if len(f.logouts) != 1 || f.logouts[0] != devToken {
			t.Fatalf("identity was told to end %v", f.logouts)
		}
	})
	wantRedirect(t, h.get("/", devToken), "/login")
}
