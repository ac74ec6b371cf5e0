package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// mintToken creates an API token with session (a signed-in session token)
// and returns its id and the token.
func mintToken(t *testing.T, h *hub, session, name string, scopes ...string) (string, string) {
	t.Helper()
	out := h.as(session).must(http.StatusCreated, "POST", "/api/v1/tokens", map[string]any{
		"name": name, "scopes": scopes, "expires_at": time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
	tok, _ := out["token"].(string)
	info, _ := out["info"].(map[string]any)
	if !strings.HasPrefix(tok, "exk_pat_") || info["id"] == nil {
		t.Fatalf("created %v", out)
	}
	return info["id"].(string), tok
}

// TestTokens drives API tokens through the real processes: scopes within
// the owner's role, attribution in the audit log, revocation and expiry.
func TestTokens(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	_, devTok := user(t, h, adminTok, "token-developer@acme.test", "DEVELOPER")
	pubID, pubTok := mintToken(t, h, devTok, "CI publish", "publish")
	readID, readTok := mintToken(t, h, devTok, "dashboards", "read")

	t.Run("a publish token publishes a package but cannot create users nor start jobs", func(t *testing.T) {
		if code, body := publish(t, h, pubTok, packageZip(t, "token-published", "1.0.0", "echo hi")); code != http.StatusCreated {
			t.Fatalf("publish = %d %s", code, body)
		}
		out := h.as(pubTok).must(http.StatusForbidden, "POST", "/api/v1/users",
			map[string]string{"email": "x@acme.test", "password": goodPassword, "name": "x"})
		if errCode(out) != "permission_denied" {
			t.Fatalf("create user: %v", out)
		}
		out = h.as(pubTok).must(http.StatusForbidden, "POST", "/api/v1/jobs",
			map[string]string{"package": "token-published", "environment": "Development"})
		if !strings.Contains(errMessage(out), "run scope") {
			t.Fatalf("start job: %v", out)
		}
	})
	t.Run("a read token reads and changes nothing; no token mints a token", func(t *testing.T) {
		h.as(readTok).must(http.StatusOK, "GET", "/api/v1/packages", nil)
		me := h.as(readTok).must(http.StatusOK, "GET", "/api/v1/auth/me", nil)
		if me["email"] != "token-developer@acme.test" {
			t.Fatalf("me = %v", me)
		}
		h.as(readTok).must(http.StatusForbidden, "POST", "/api/v1/jobs/00000000-0000-4000-8000-000000000000/cancel", nil)
		_, adminScoped := mintToken(t, h, devTok, "everything", "admin")
		out := h.as(adminScoped).must(http.StatusForbidden, "POST", "/api/v1/tokens", map[string]any{
			"name": "child", "scopes": []string{"read"}, "expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
		if !strings.Contains(errMessage(out), "cannot create") {
			t.Fatalf("a token minting a token: %v", out)
		}
	})
	t.Run("what a token does is audited with its id", func(t *testing.T) {
		ev := exactlyOnce(t, h, adminTok, url.Values{"action": {"package.publish"}}, "success")
		if a := ev["actor"].(map[string]any); a["token_id"] != pubID {
			t.Fatalf("actor = %v, want token_id %s", a, pubID)
		}
		created := exactlyOnce(t, h, adminTok, url.Values{"action": {"token.create"}, "target": {readID}}, "success")
		if a := created["actor"].(map[string]any); a["token_id"] != nil {
			t.Fatalf("token.create made with a session shows a token: %v", a)
		}
	})
	t.Run("a revoked token fails on the very next call", func(t *testing.T) {
		h.as(readTok).must(http.StatusOK, "GET", "/api/v1/packages", nil) // the gateway remembers it now
		out := h.as(devTok).must(http.StatusOK, "DELETE", "/api/v1/tokens/"+readID, nil)
		if out["revoked_at"] == nil {
			t.Fatalf("revoke = %v", out)
		}
		h.as(readTok).must(http.StatusUnauthorized, "GET", "/api/v1/packages", nil)
	})
	t.Run("an expired token is refused", func(t *testing.T) {
		id, tok := mintToken(t, h, devTok, "short-lived", "read")
		if _, err := h.pilotDB(t).Exec(context.Background(),
			"UPDATE identity.api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", id); err != nil {
			t.Fatal(err)
		}
		h.as(tok).must(http.StatusUnauthorized, "GET", "/api/v1/packages", nil)
	})
}
