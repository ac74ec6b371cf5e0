package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
)

func TestParseExpiry(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"90d":        now.Add(90 * 24 * time.Hour),
		"12h":        now.Add(12 * time.Hour),
		"2027-06-30": time.Date(2027, 6, 30, 23, 59, 59, 0, time.UTC),
	} {
		if got, err := parseExpiry(in, now); err != nil || !got.Equal(want) {
			t.Errorf("%s: %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0d", "-3d", "soon"} {
		if _, err := parseExpiry(bad, now); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestTokenCommands: create sends the request and prints the token once;
// list and revoke reach their routes; EXEKRA_TOKEN stands in for --token-file.
func TestTokenCommands(t *testing.T) {
	var got identity.CreateTokenRequest
	var auth []string
	hub := newFakeHub(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/json")
		info := identity.APIToken{ID: "t-1", Name: "CI", Prefix: "exk_pat_abcd", Scopes: []string{"read", "run"}, ExpiresAt: time.Now().Add(time.Hour)}
		switch {
		case r.Method == "POST" && r.URL.Path == "/api/v1/tokens":
			json.NewDecoder(r.Body).Decode(&got)
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(identity.CreatedToken{Token: "exk_pat_secret", Info: info})
		case r.Method == "GET" && r.URL.Path == "/api/v1/tokens" && r.URL.Query().Get("all") == "true":
			json.NewEncoder(w).Encode(identity.ListTokensResponse{Items: []identity.APIToken{info}})
		case r.Method == "DELETE" && r.URL.Path == "/api/v1/tokens/t-1":
			now := time.Now()
			info.RevokedAt = &now
			json.NewEncoder(w).Encode(info)
		default:
			apiError(w, http.StatusNotFound, "not_found", "no such route "+r.Method+" "+r.URL.String())
		}
	}))
	var out bytes.Buffer
	args := append([]string{"token", "create", "--name", "CI", "--scope", "read, run", "--expires", "30d"}, hub.flags()...)
	if err := run(t.Context(), args, &out); err != nil {
		t.Fatal(err)
	}
	if got.Name != "CI" || strings.Join(got.Scopes, ",") != "read,run" || time.Until(got.ExpiresAt) < 29*24*time.Hour {
		t.Fatalf("request = %+v", got)
	}
	if !strings.HasPrefix(out.String(), "exk_pat_secret\n") || !strings.Contains(out.String(), "only time") {
		t.Fatalf("create printed %q", out.String())
	}
	noFile := []string{"--hub", hub.srv.URL, "--fingerprint", hub.fp}
	t.Setenv(envToken, "exk_pat_from_env")
	out.Reset()
	if err := run(t.Context(), append([]string{"token", "list", "--all"}, noFile...), &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "exk_pat_abcd…") || !strings.Contains(out.String(), "active") {
		t.Fatalf("list printed %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), append([]string{"token", "revoke", "t-1"}, noFile...), &out); err != nil || !strings.Contains(out.String(), "revoked token t-1") {
		t.Fatalf("revoke: %v, %q", err, out.String())
	}
	if auth[0] != "Bearer tok-123" || auth[len(auth)-1] != "Bearer exk_pat_from_env" {
		t.Fatalf("authorization = %v", auth)
	}
	t.Setenv(envToken, "")
	if err := run(t.Context(), append([]string{"token", "list"}, noFile...), &out); err == nil || !strings.Contains(err.Error(), envToken) {
		t.Fatalf("without a token: %v", err)
	}
}
