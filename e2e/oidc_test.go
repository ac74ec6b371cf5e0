package e2e

import (
	"crypto/tls"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/testkit/hydratest"
)

// TestOIDC: a pilot with OpenID Connect sign-in against a real provider (Ory
// Hydra). A browser goes through the gateway's /api/v1/auth/oidc/login, the
// provider's login and consent, and back to /callback, and ends with a
// console session cookie that works on the API, with the role of its
// groups; signing out ends it. The sign-in page offers the button and
// shows only its own messages for ?error=.
func TestOIDC(t *testing.T) {
	p := hydratest.Start(t)
	v := newVendor(t)
	h := newHub(t)
	callback := h.useOIDC(t, p, map[string]string{"DEVELOPER_VALUES": "hub-devs,hub-builders"})
	h.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	h.start()
	bootstrapHub(t, h, v)
	anon := h.as("")

	if pr := anon.must(http.StatusOK, "GET", "/api/v1/auth/providers", nil); pr["oidc"] != true || pr["oidc_name"] != "Acme SSO" {
		t.Fatalf("providers = %v, want OpenID Connect on as Acme SSO", pr)
	}
	if page := signInPage(t, h, ""); !strings.Contains(page, `href="/api/v1/auth/oidc/login"`) || !strings.Contains(page, "Sign in with Acme SSO") {
		t.Fatalf("the sign-in page offers no single sign-on:\n%s", page)
	}

	p.SignInAs(hydratest.User{Subject: "dana-0001", Claims: map[string]any{
		"email": "dana@acme.test", "email_verified": true, "name": "Dana Scully", "groups": []string{"staff", "hub-builders"}}})
	b := oidcBrowser(t)
	resp, err := b.Get(h.gateway + "/api/v1/auth/oidc/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/api/v1/auth/oidc/callback" || !strings.Contains(string(body), `url=/`) {
		t.Fatalf("the sign-in ended at %s with %s:\n%s", resp.Request.URL, resp.Status, body)
	}
	me := browserGet(t, b, h.gateway+"/api/v1/auth/me", http.StatusOK)
	if !strings.Contains(me, `"role":"DEVELOPER"`) || !strings.Contains(me, `"source":"oidc"`) || !strings.Contains(me, `"email":"dana@acme.test"`) {
		t.Fatalf("/api/v1/auth/me with the session cookie = %s, want dana, a DEVELOPER from oidc", me)
	}
	cb, _ := url.Parse(callback)
	for _, ck := range b.Jar.Cookies(cb) {
		if strings.Contains(ck.Name, "oidc_state") {
			t.Fatalf("the state cookie outlived the callback: %v", ck)
		}
		if ck.Name == "__Host-exekra_session" {
			h.as(ck.Value).must(http.StatusNoContent, "POST", "/api/v1/auth/logout", nil)
		}
	}
	browserGet(t, b, h.gateway+"/api/v1/auth/me", http.StatusUnauthorized)

	t.Run("a callback without this browser's state goes back to the sign-in page", func(t *testing.T) {
		loc := noFollow(t, h.gateway+"/api/v1/auth/oidc/callback?code=abc&state=def")
		if loc != "/login?error=oidc_failed" {
			t.Fatalf("went to %q, want /login?error=oidc_failed", loc)
		}
	})
	t.Run("the provider's refusal goes back to the sign-in page with its message", func(t *testing.T) {
		loc := noFollow(t, h.gateway+"/api/v1/auth/oidc/callback?error=access_denied&error_description=%3Cb%3Eno%3C%2Fb%3E")
		if loc != "/login?error=oidc_denied" {
			t.Fatalf("went to %q, want /login?error=oidc_denied", loc)
		}
		if page := signInPage(t, h, "?error=oidc_denied"); !strings.Contains(page, "cancelled or refused") {
			t.Fatalf("the sign-in page does not explain oidc_denied:\n%s", page)
		}
		if page := signInPage(t, h, "?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E"); strings.Contains(page, "alert(1)") {
			t.Fatalf("the sign-in page echoes ?error=:\n%s", page)
		}
	})
}

// oidcBrowser keeps cookies and follows redirects, trusting the pilot's
// self-signed certificate.
func oidcBrowser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
}

func browserGet(t *testing.T, b *http.Client, u string, want int) string {
	t.Helper()
	resp, err := b.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("GET %s = %s, want %d: %s", u, resp.Status, want, body)
	}
	return string(body)
}

// noFollow answers where GET u redirects to.
func noFollow(t *testing.T, u string) string {
	t.Helper()
	c := oidcBrowser(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s = %s, want 302", u, resp.Status)
	}
	return resp.Header.Get("Location")
}

// useOIDC registers h as a client of the test provider p and sets h to
// sign people in with it as "Acme SSO", hub-admins ADMIN; more adds or
// overrides identity.oidc.* settings (by their variable's suffix). It
// returns the callback URL.
func (h *hub) useOIDC(t *testing.T, p *hydratest.Provider, more map[string]string) string {
	callback := h.gateway + "/api/v1/auth/oidc/callback"
	client := p.NewClient(t, callback)
	settings := map[string]string{
		"NAME": "Acme SSO", "ISSUER": p.Issuer, "CLIENT_ID": client.ID, "CLIENT_SECRET": client.Secret,
		"REDIRECT_URL": callback, "ADMIN_VALUES": "hub-admins",
	}
	maps.Copy(settings, more)
	for key, value := range settings {
		h.env["EXEKRA_IDENTITY_OIDC_"+key] = value
	}
	return callback
}

// signInPage is the console's sign-in page with query.
func signInPage(t *testing.T, h *hub, query string) string {
	t.Helper()
	return browserGet(t, oidcBrowser(t), h.gateway+"/login"+query, http.StatusOK)
}
