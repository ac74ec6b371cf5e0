package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestContractCheck shows the contract check (contract_test.go) refusing
// what the document does not say, on the document the client is generated
// from (apiclient/openapi.json, kept equal to the served one by
// TestGeneratedClient): no pilot is needed.
func TestContractCheck(t *testing.T) {
	raw, err := os.ReadFile("apiclient/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := loadContract(raw)
	if err != nil {
		t.Fatal(err)
	}
	const (
		user    = `{"id":"u","email":"a@b.c","name":"A","role":"ADMIN","disabled":false,"source":"local","created_at":"2026-01-02T03:04:05Z","last_login_at":null}`
		session = `{"token":"t","expires_at":"2026-01-02T03:04:05Z","user":` + user + `}`
		badArg  = `{"error":{"code":"invalid_argument","message":"unknown field \"role\""}}`
		record  = `{"seq":1,"id":"e","at":"2026-01-02T03:04:05Z","actor":{"type":"user","id":"u"},"action":"auth.login","target":{"type":"user","id":"u"},` +
			`"outcome":"success","source_ip":"127.0.0.1","request_id":"r","service":"identity","version":"v","details":{"x":null},"prev_hash":"p","hash":"h"}`
	)
	login := `{"email":"a@b.c","password":"correct horse battery"}`
	noStore := map[string]string{"Cache-Control": "no-store", "Pragma": "no-cache"}
	for _, tc := range []struct {
		name, method, path, reqBody string
		reqHeader                   map[string]string
		status                      int
		ctype, respBody             string
		respHeader                  map[string]string
		wantErr                     string // "" when the exchange keeps the contract
	}{
		{"a documented sign-in", "POST", "/api/v1/auth/login", login, nil, 200, "application/json; charset=utf-8", session, noStore, ""},
		{"an answer with an undocumented field", "POST", "/api/v1/auth/login", login, nil, 200, "application/json", strings.Replace(session, `"token"`, `"secret":"s","token"`, 1), noStore, "secret"},
		{"an answer lacking a field", "POST", "/api/v1/auth/login", login, nil, 200, "application/json", strings.Replace(session, `"token":"t",`, "", 1), noStore, "token"},
		{"an answer lacking a documented header", "POST", "/api/v1/auth/login", login, nil, 200, "application/json", session, nil, "Cache-Control"},
		{"an undocumented status", "POST", "/api/v1/auth/login", login, nil, 418, "application/json", badArg, nil, "418"},
		{"an error code not of the list", "POST", "/api/v1/auth/login", login, nil, 400, "application/json", strings.Replace(badArg, "invalid_argument", "oops", 1), nil, "/error/code"},
		{"an invalid request refused", "POST", "/api/v1/auth/login", `{"email":"a@b.c","password":"p","role":"ADMIN"}`, nil, 400, "application/json", badArg, nil, ""},
		{"an invalid request accepted", "POST", "/api/v1/auth/login", `{"email":"a@b.c","password":"p","role":"ADMIN"}`, nil, 200, "application/json", session, noStore, "accepted a request the document calls invalid"},
		{"an operation without credentials refused", "GET", "/api/v1/auth/me", "", nil, 401, "application/json", `{"error":{"code":"unauthenticated","message":"m"}}`, nil, ""},
		{"an operation without credentials answered", "GET", "/api/v1/auth/me", "", nil, 200, "application/json", user, nil, "accepted"},
		{"a signed-in read", "GET", "/api/v1/auth/me", "", map[string]string{"Authorization": "Bearer t"}, 200, "application/json", user, nil, ""},
		{"a runner's claim that got nothing", "POST", "/api/v1/runner/jobs/claim?wait=1", "", map[string]string{"Authorization": "Basic dTpw"}, 204, "", "", nil, ""},
		{"a body where the document has none", "POST", "/api/v1/runner/jobs/claim?wait=1", "", map[string]string{"Authorization": "Basic dTpw"}, 204, "application/json", "{}", nil, "no body"},
		{"a wait out of range accepted", "POST", "/api/v1/runner/jobs/claim?wait=61", "", map[string]string{"Authorization": "Basic dTpw"}, 204, "", "", nil, "accepted"},
		{"an unknown path answered 404", "GET", "/api/v1/nothing", "", nil, 404, "application/json", `{"error":{"code":"not_found","message":"m"}}`, nil, ""},
		{"an unknown path answered 200", "GET", "/api/v1/nothing", "", nil, 200, "application/json", `{}`, nil, "404"},
		{"an export of records", "GET", "/api/v1/audit/export", "", map[string]string{"Authorization": "Bearer t"}, 200, "application/x-ndjson", record + "\n" + record + "\n",
			map[string]string{"Content-Disposition": "attachment"}, ""},
		{"an export with a line of another shape", "GET", "/api/v1/audit/export", "", map[string]string{"Authorization": "Bearer t"}, 200, "application/x-ndjson",
			record + "\n" + strings.Replace(record, `"hash":"h"`, `"hash":"h","more":1`, 1) + "\n", map[string]string{"Content-Disposition": "attachment"}, "line 2"},
		{"the health 503 as its report", "GET", "/api/health", "", nil, 503, "application/json",
			`{"status":"degraded","version":"v","commit":"c","uptime_seconds":1,"database":{"status":"up","latency_ms":1},"nats":"up","redis":"up","services":{"audit":"down"}}`,
			map[string]string{"Cache-Control": "no-store"}, ""},
		{"the health 503 as an error", "GET", "/api/health", "", nil, 503, "application/json", `{"error":{"code":"unavailable","message":"m"}}`,
			map[string]string{"Cache-Control": "no-store"}, "HealthReport"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, "https://hub.test"+tc.path, strings.NewReader(tc.reqBody))
			if tc.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for k, v := range tc.reqHeader {
				req.Header.Set(k, v)
			}
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{"X-Request-Id": {"r"}}}
			if tc.ctype != "" {
				resp.Header.Set("Content-Type", tc.ctype)
			}
			for k, v := range tc.respHeader {
				resp.Header.Set(k, v)
			}
			err := checkExchange(context.Background(), doc, req, []byte(tc.reqBody), resp, []byte(tc.respBody))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("a documented exchange was refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("err = %v, want one naming %q", err, tc.wantErr)
			}
		})
	}
}
