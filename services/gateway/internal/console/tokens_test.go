package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestTokensPage(t *testing.T) {
	h := newHub(t, true)
	t.Run("every signed-in user has it in the menu, with the create form", func(t *testing.T) {
		wantPage(t, h.get("/tokens", devToken), http.StatusOK, `href="/tokens"`, "API tokens", `id="tokens-create-form"`,
			`id="tokens-create-name"`, `id="tokens-scope-read" name="scope" value="read" checked`, `id="tokens-scope-publish"`,
			`id="tokens-create-days"`, `<option value="90" selected>90 days</option>`, "No API tokens.")
	})
	t.Run("signed out, it asks to sign in", func(t *testing.T) {
		if w := h.get("/tokens", ""); w.Code == http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	})
	create := url.Values{"name": {"CI"}, "scope": {"read", "publish"}, "days": {"30"}}
	t.Run("a token is made and shown once, not cached", func(t *testing.T) {
		w := h.post("/tokens", devToken, create)
		wantPage(t, w, http.StatusCreated, `id="token-secret"`, "exk_pat_t-1SECRETPART", "only time it is shown", "read, publish")
		if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
			t.Fatalf("Cache-Control %q", cc)
		}
		list := h.get("/tokens", devToken)
		wantPage(t, list, http.StatusOK, `id="token-t-1" data-id="t-1" data-state="active"`, "exk_pat_t-1…", `id="token-revoke-t-1"`)
		wantNot(t, list, "SECRETPART")
	})
	t.Run("a bad request is refused inline with the form kept", func(t *testing.T) {
		wantPage(t, h.post("/tokens", devToken, url.Values{"name": {"kept name"}, "days": {"30"}}), http.StatusBadRequest,
			"name and scopes are required", `value="kept name"`)
		wantPage(t, h.post("/tokens", devToken, url.Values{"name": {"x"}, "scope": {"read"}}), http.StatusBadRequest, "Choose when the token expires.")
	})
	t.Run("another user's token is not theirs to revoke", func(t *testing.T) {
		wantPage(t, h.post("/tokens/t-1/revoke", adminToken, nil), http.StatusNotFound, "no API token has this id")
	})
	t.Run("its owner revokes it", func(t *testing.T) {
		wantRedirect(t, h.post("/tokens/t-1/revoke", devToken, nil), "/tokens?flash=token_revoked")
		w := h.get("/tokens?flash=token_revoked", devToken)
		wantPage(t, w, http.StatusOK, "API token revoked", `data-state="revoked"`)
		wantNot(t, w, `id="token-revoke-t-1"`)
	})
}

func TestServiceAccountForm(t *testing.T) {
	h := newHub(t, true)
	wantPage(t, h.get("/users", adminToken), http.StatusOK, `id="users-create-service"`, `class="user-source"`)
	form := url.Values{"email": {"ci@example.com"}, "name": {"CI"}, "role": {"DEVELOPER"}, "service_account": {"true"}}
	wantRedirect(t, h.post("/users", adminToken, form), "/users?flash=user_created")
	wantPage(t, h.get("/users", adminToken), http.StatusOK, `data-email="ci@example.com"`, "service account")
}
