package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestHostileInput sends text the Hub cannot store or show faithfully —
// NUL, lone surrogates, invalid UTF-8, a password too large for the message
// bus, bidirectional overrides and other hidden characters in names — to
// every kind of input (JSON fields, JSON parameters, query filters, path
// segments). Each must be a 400 invalid_argument naming the field, never a
// 500, a 503 or a 201.
func TestHostileInput(t *testing.T) {
	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	admin := h.as(adminTok)
	if status, raw := publish(t, h, adminTok, packageZip(t, "hello", "1.0.0", "echo hi\n")); status != http.StatusCreated {
		t.Fatalf("publish: %d %s", status, raw)
	}
	id, secret := registerRunner(t, h, adminTok, "hostile-input")
	runner := h.as("").with("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	job := func(params string) string {
		return `{"package":"hello","environment":"Development","parameters":` + params + `}`
	}
	hugePassword := strings.Repeat("<", 200_000)
	for _, c := range []struct {
		name, method, path, body, field string
		as                              *api
	}{
		{"job parameter value with NUL", "POST", "/api/v1/jobs", job(`{"p":"a\u0000b"}`), "parameters", admin},
		{"job parameter key with NUL", "POST", "/api/v1/jobs", job(`{"a\u0000":"b"}`), "parameters", admin},
		{"job parameter with a lone surrogate", "POST", "/api/v1/jobs", job(`{"p":"\ud800"}`), "parameters", admin},
		{"job parameter with a lone low surrogate", "POST", "/api/v1/jobs", job(`{"p":["x","\udc00y"]}`), "parameters", admin},
		{"job parameter with invalid UTF-8", "POST", "/api/v1/jobs", job("{\"p\":\"\xff\"}"), "parameters", admin},
		{"audit actor NUL", "GET", "/api/v1/audit?actor=%00", "", "actor", admin},
		{"audit action NUL", "GET", "/api/v1/audit?action=%00", "", "action", admin},
		{"audit target NUL", "GET", "/api/v1/audit?target=a%00b", "", "target", admin},
		{"audit actor invalid UTF-8", "GET", "/api/v1/audit?actor=%ff", "", "actor", admin},
		{"audit export actor NUL", "GET", "/api/v1/audit/export?actor=%00", "", "actor", admin},
		{"audit export action NUL", "GET", "/api/v1/audit/export?action=%00", "", "action", admin},
		{"audit export target NUL", "GET", "/api/v1/audit/export?target=%00", "", "target", admin},
		{"package version NUL", "GET", "/api/v1/runner/packages/hello/%00", "", "version", runner},
		{"package name NUL", "GET", "/api/v1/runner/packages/he%00llo/1.0.0", "", "name", runner},
		{"package version not semver", "GET", "/api/v1/runner/packages/hello/1.0", "", "version", runner},
		{"jobs filter environment NUL", "GET", "/api/v1/jobs?environment=%00", "", "environment", admin},
		{"jobs cursor NUL", "GET", "/api/v1/jobs?cursor=%00", "", "cursor", admin},
		{"runners filter NUL", "GET", "/api/v1/runners?status=%00", "", "status", admin},
		{"users cursor NUL", "GET", "/api/v1/users?cursor=%00", "", "cursor", admin},
		{"package versions name NUL", "GET", "/api/v1/packages/a%00b", "", "name", admin},
		{"user name NUL", "POST", "/api/v1/users", `{"email":"n@acme.test","password":"correct horse battery","name":"a\u0000b"}`, "name", admin},
		{"user email NUL", "POST", "/api/v1/users", `{"email":"n\u0000@acme.test","password":"correct horse battery","name":"n"}`, "email", admin},
		{"login with a huge password", "POST", "/api/v1/auth/login", `{"email":"a@acme.test","password":"` + hugePassword + `"}`, "password", h.as("")},
		{"new user with a huge password", "POST", "/api/v1/users", `{"email":"h@acme.test","password":"` + hugePassword + `","name":"h"}`, "password", admin},
		{"runner name NUL", "POST", "/api/v1/runners", `{"name":"a\u0000","environment":"Development"}`, "name", admin},
		{"runner label NUL", "POST", "/api/v1/runners", `{"name":"ok","environment":"Development","labels":["a\u0000"]}`, "label", admin},
		{"job package NUL", "POST", "/api/v1/jobs", `{"package":"a\u0000","environment":"Development"}`, "package", admin},
		{"user name with a bidi override", "POST", "/api/v1/users", `{"email":"b@acme.test","password":"correct horse battery","name":"admin\u202egnp.exe"}`, "name", admin},
		{"user name with a bidi isolate", "POST", "/api/v1/users", `{"email":"i@acme.test","password":"correct horse battery","name":"a\u2066b"}`, "name", admin},
		{"user name with a line separator", "POST", "/api/v1/users", `{"email":"l@acme.test","password":"correct horse battery","name":"a\u2028b"}`, "name", admin},
		{"runner name with a bidi override", "POST", "/api/v1/runners", `{"name":"build\u202e","environment":"Development"}`, "name", admin},
		{"user email with a bidi override", "POST", "/api/v1/users", `{"email":"moc.live\u202e@acme.test","password":"correct horse battery","name":"e"}`, "email", admin},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			status, out := c.as.call(c.method, c.path, body)
			e, _ := out["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if status != http.StatusBadRequest || errCode(out) != "invalid_argument" || !strings.Contains(msg, c.field) {
				t.Errorf("%s %s = %d %v, want 400 invalid_argument naming %q", c.method, c.path, status, out, c.field)
			}
		})
	}
}
