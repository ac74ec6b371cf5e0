package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
)

// assetHub fakes the asset routes: sap_login is a credential, retries an integer.
type assetHub struct {
	mu       sync.Mutex
	requests []string
	bodies   []string
}

func (h *assetHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	h.requests = append(h.requests, r.Method+" "+r.URL.RequestURI())
	h.bodies = append(h.bodies, string(body))
	if r.Header.Get("Authorization") != "Bearer tok-123" {
		apiError(w, 401, "unauthenticated", "no token")
		return
	}
	a := runners.Asset{Name: "sap_login", Type: runners.AssetCredential, WriteOnly: true,
		Values: []runners.AssetValue{{Scope: runners.ScopeGlobal, Value: json.RawMessage("null"), Version: 1}}}
	if strings.Contains(r.URL.Path, "retries") {
		a = runners.Asset{Name: "retries", Type: runners.AssetInteger}
	}
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method == "GET" && r.URL.Path == runners.PathAssets:
		json.NewEncoder(w).Encode(runners.ListAssetsResponse{Items: []runners.Asset{a}})
	case r.Method == "DELETE" && r.URL.Path == "/api/v1/assets/retries":
		w.WriteHeader(204)
	default:
		json.NewEncoder(w).Encode(a)
	}
}

func TestAssetCommands(t *testing.T) {
	h := &assetHub{}
	hub := newFakeHub(t, h)
	stdin = strings.NewReader("s3cr\"et\n")
	defer func() { stdin = nil }()
	out, err := runCLI(t, hub, "asset", "set", "sap_login", "--environment", "production", "--username", "robot1", "--password-stdin")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if h.requests[1] != "PUT /api/v1/assets/sap_login/values/environments/Production" ||
		h.bodies[1] != `{"value":{"username":"robot1","password":"s3cr\"et"}}` {
		t.Fatalf("%q %q", h.requests, h.bodies)
	}
	if strings.Contains(out, "s3cr") || !strings.Contains(out, "(write-only)") {
		t.Fatalf("output %s", out)
	}
	if _, err := runCLI(t, hub, "asset", "create", "retries", "--type", "integer", "--value", "7", "--description", "tries"); err != nil {
		t.Fatal(err)
	}
	if b := h.bodies[len(h.bodies)-1]; b != `{"name":"retries","type":"integer","description":"tries","value":7}` {
		t.Fatalf("create body %s", b)
	}
	if _, err := runCLI(t, hub, "asset", "unset", "retries", "--runner", "run-7"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, hub, "asset", "list", "--type", "credential", "--json"); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, hub, "asset", "delete", "retries"); err != nil {
		t.Fatal(err)
	}
	want := []string{"DELETE /api/v1/assets/retries/values/runners/run-7", "GET /api/v1/assets?type=credential&limit=500", "DELETE /api/v1/assets/retries"}
	got := h.requests[len(h.requests)-3:]
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("requests %q", got)
	}
}

func TestAssetSecretsNeverOnTheCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"asset", "create", "k", "--type", "secret", "--value", "sk-1"}, "--value-stdin"},
		{[]string{"asset", "create", "k", "--type", "credential", "--value", "x"}, "--password-stdin"},
		{[]string{"asset", "create", "k", "--type", "integer", "--value", "many"}, "not an integer"},
		{[]string{"asset", "create", "k", "--type", "boolean", "--value", "maybe"}, "not a boolean"},
		{[]string{"asset", "create", "k", "--type", "blob"}, "--type is required"},
		{[]string{"asset", "update", "k"}, "--description is required"},
		{[]string{"asset", "unset", "k", "--environment", "qa"}, "is not one of"},
	} {
		h := &assetHub{}
		hub := newFakeHub(t, h)
		_, err := runCLI(t, hub, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "sk-1") {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
		for _, r := range h.requests {
			if !strings.HasPrefix(r, "GET") {
				t.Errorf("%v: the Hub was asked to change something: %v", tc.args, h.requests)
			}
		}
	}
}
