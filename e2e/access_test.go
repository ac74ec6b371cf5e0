package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// principal is one kind of caller of the access matrix.
type principal struct {
	name  string
	role  string // "" for callers without a valid session
	token func() string
}

// matrixRow is one route with a request that an allowed caller gets a known answer to.
type matrixRow struct {
	method, path string
	body         func(i int) any
	min          string         // Anyone, OPERATOR, DEVELOPER, ADMIN
	ok           int            // status for an allowed caller
	special      map[string]int // status by principal name, overriding the rule
}

var roleRank = map[string]int{"OPERATOR": 1, "DEVELOPER": 2, "ADMIN": 3}

// want is the exact status principal p must get on row r.
func (r matrixRow) want(p principal) int {
	if s, ok := r.special[p.name]; ok {
		return s
	}
	switch {
	case r.min == "anyone":
		return r.ok
	case p.role == "":
		return http.StatusUnauthorized
	case roleRank[p.role] < roleRank[r.min]:
		return http.StatusForbidden
	}
	return r.ok
}

func matrixRows(secret string) []matrixRow {
	none := func(int) any { return nil }
	fixed := func(v any) func(int) any { return func(int) any { return v } }
	invalidCaller := map[string]int{"anonymous": 401, "disabled": 401, "logged out": 401, "expired": 401, "OPERATOR": 403, "DEVELOPER": 403, "ADMIN": 400}
	return []matrixRow{
		{"GET", "/api/health", none, "anyone", 200, nil},
		{"GET", "/api/v1/setup", none, "anyone", 200, nil},
		{"GET", "/api/v1/openapi.json", none, "anyone", 200, nil},
		{"POST", "/api/v1/setup/bootstrap", fixed(map[string]string{"email": adminEmail, "password": secret, "name": "Again"}), "anyone", 409, nil},
		{"POST", "/api/v1/auth/login", func(i int) any {
			return map[string]string{"email": fmt.Sprintf("nobody-%d@acme.test", i), "password": "wrong password here"}
		}, "anyone", 401, nil},
		{"POST", "/api/v1/auth/logout", none, "OPERATOR", 204, nil},
		{"GET", "/api/v1/auth/me", none, "OPERATOR", 200, nil},
		{"GET", "/api/v1/auth/providers", none, "anyone", 200, nil},
		// OpenID Connect is off in this Hub: both routes answer 302 to the
		// sign-in page with a message, which the client follows.
		{"GET", "/api/v1/auth/oidc/login", none, "anyone", 200, nil},
		{"GET", "/api/v1/auth/oidc/callback", none, "anyone", 200, nil},
		{"GET", "/api/v1/users", none, "ADMIN", 200, nil},
		{"POST", "/api/v1/users", fixed(map[string]string{"email": "not an email", "password": secret, "name": "X"}), "ADMIN", 400, nil},
		{"GET", "/api/v1/users/:id", none, "ADMIN", 404, nil},
		{"PATCH", "/api/v1/users/:id", fixed(map[string]string{"name": "Nobody"}), "ADMIN", 404, nil},
		{"DELETE", "/api/v1/users/:id", none, "ADMIN", 404, nil},
		{"POST", "/api/v1/license", fixed(map[string]string{"license": "garbage"}), "anyone", 0, invalidCaller},
		{"GET", "/api/v1/license", none, "ADMIN", 200, nil},
		{"POST", "/api/v1/license/validate", none, "ADMIN", 400, nil}, // offline license: validation is by receipt
		{"GET", "/api/v1/license/usage-report", none, "ADMIN", 200, nil},
		{"POST", "/api/v1/license/receipt", fixed(map[string]string{"receipt": "garbage"}), "ADMIN", 400, nil},
		{"GET", "/api/v1/runners", none, "OPERATOR", 200, nil},
		{"GET", "/api/v1/runners/:id", none, "OPERATOR", 404, nil},
		{"POST", "/api/v1/runners", fixed(map[string]string{"name": "", "environment": "Nowhere"}), "ADMIN", 400, nil},
		{"DELETE", "/api/v1/runners/:id", none, "ADMIN", 404, nil},
		{"POST", "/api/v1/runners/:id/regenerate-secret", none, "ADMIN", 404, nil},
		{"POST", "/api/v1/runner/heartbeat", fixed(map[string]any{}), "anyone", 401, nil}, // users are no runners
		{"POST", "/api/v1/packages", fixed(map[string]string{"not": "multipart"}), "DEVELOPER", 400, nil},
		{"GET", "/api/v1/packages", none, "OPERATOR", 200, nil},
		{"GET", "/api/v1/packages/:name", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/runner/packages/:name/:version", none, "anyone", 401, nil},
		{"POST", "/api/v1/jobs", fixed(map[string]string{"package": "no-such-package", "environment": "Development"}), "OPERATOR", 404, nil},
		{"POST", "/api/v1/job-batches", fixed(map[string]any{"jobs": []map[string]string{{"package": "no-such-package", "environment": "Development"}}}), "OPERATOR", 404, nil},
		{"GET", "/api/v1/jobs", none, "OPERATOR", 200, nil},
		{"GET", "/api/v1/jobs/:id", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/jobs/:id/logs", none, "OPERATOR", 404, nil},
		{"POST", "/api/v1/jobs/:id/cancel", none, "OPERATOR", 404, nil},
		{"POST", "/api/v1/jobs/:id/rerun", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/runners/:id/metrics", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/stats/dashboard", none, "OPERATOR", 200, nil},
		{"POST", "/api/v1/runner/jobs/claim", none, "anyone", 401, nil}, // users are no runners
		{"POST", "/api/v1/runner/jobs/:id/logs", fixed(map[string]any{"lines": []any{}}), "anyone", 401, nil},
		{"POST", "/api/v1/runner/jobs/:id/complete", fixed(map[string]any{"status": "succeeded"}), "anyone", 401, nil},
		{"GET", "/api/v1/schedules", none, "OPERATOR", 200, nil},
		{"POST", "/api/v1/schedules", fixed(map[string]any{"name": "", "package": "x", "environment": "Development", "cron": "@daily"}), "DEVELOPER", 400, nil},
		{"GET", "/api/v1/schedules/:id", none, "OPERATOR", 404, nil},
		{"PUT", "/api/v1/schedules/:id", fixed(map[string]any{"name": "", "package": "x", "environment": "Development", "cron": "@daily"}), "DEVELOPER", 400, nil},
		{"DELETE", "/api/v1/schedules/:id", none, "DEVELOPER", 404, nil},
		{"POST", "/api/v1/schedules/:id/pause", none, "OPERATOR", 404, nil},
		{"POST", "/api/v1/schedules/:id/resume", none, "OPERATOR", 404, nil},
		{"POST", "/api/v1/schedules/:id/run", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/schedules/:id/next", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/schedules/:id/fires", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/schedule-fires", none, "OPERATOR", 200, nil},
		{"GET", "/api/v1/calendars", none, "OPERATOR", 200, nil},
		{"POST", "/api/v1/calendars", fixed(map[string]any{"name": "", "dates": []string{}}), "DEVELOPER", 400, nil},
		{"GET", "/api/v1/calendars/:id", none, "OPERATOR", 404, nil},
		{"PUT", "/api/v1/calendars/:id", fixed(map[string]any{"name": "", "dates": []string{}}), "DEVELOPER", 400, nil},
		{"DELETE", "/api/v1/calendars/:id", none, "DEVELOPER", 404, nil},
		{"GET", "/api/v1/assets", none, "OPERATOR", 200, nil},
		{"POST", "/api/v1/assets", fixed(map[string]any{"name": "", "type": "text"}), "DEVELOPER", 400, nil},
		{"GET", "/api/v1/assets/:name", none, "OPERATOR", 404, nil},
		{"PATCH", "/api/v1/assets/:name", fixed(map[string]any{"description": "changed"}), "DEVELOPER", 404, nil},
		{"DELETE", "/api/v1/assets/:name", none, "DEVELOPER", 404, nil},
		{"PUT", "/api/v1/assets/:name/values/global", fixed(map[string]any{"value": "x"}), "DEVELOPER", 404, nil},
		{"DELETE", "/api/v1/assets/:name/values/global", none, "DEVELOPER", 404, nil},
		{"PUT", "/api/v1/assets/:name/values/environments/:environment", fixed(map[string]any{"value": "x"}), "DEVELOPER", 404, nil},
		{"DELETE", "/api/v1/assets/:name/values/environments/:environment", none, "DEVELOPER", 404, nil},
		{"PUT", "/api/v1/assets/:name/values/runners/:runner_id", fixed(map[string]any{"value": "x"}), "DEVELOPER", 404, nil},
		{"DELETE", "/api/v1/assets/:name/values/runners/:runner_id", none, "DEVELOPER", 404, nil},
		{"GET", "/api/v1/runner/jobs/:id/assets", none, "anyone", 401, nil}, // users are no runners
		{"GET", "/api/v1/tokens", none, "OPERATOR", 200, nil},
		{"POST", "/api/v1/tokens", fixed(map[string]any{"name": "", "scopes": []string{"read"}, "expires_at": "2030-01-01T00:00:00Z"}), "OPERATOR", 400, nil},
		{"DELETE", "/api/v1/tokens/:id", none, "OPERATOR", 404, nil},
		{"GET", "/api/v1/audit", none, "ADMIN", 200, nil},
		{"GET", "/api/v1/audit/export", none, "ADMIN", 200, nil},
		{"GET", "/api/v1/audit/verify", none, "ADMIN", 200, nil},
		{"GET", "/api/v1/audit/checkpoints", none, "ADMIN", 200, nil},
	}
}

var routeParam = regexp.MustCompile(`:(\w+)`)

// concrete fills route parameters.
func concrete(path string) string {
	path = strings.ReplaceAll(path, ":id", "00000000-0000-4000-8000-000000000000")
	path = strings.ReplaceAll(path, ":runner_id", "00000000-0000-4000-8000-000000000000")
	path = strings.ReplaceAll(path, ":environment", "Development")
	if strings.HasPrefix(path, "/api/v1/assets/") {
		path = strings.ReplaceAll(path, ":name", "no_such_asset")
	}
	path = strings.ReplaceAll(path, ":name", "no-such-package")
	return strings.ReplaceAll(path, ":version", "1.0.0")
}

// checkMatrixCoversRoutes fails when the served API has a route without a row.
func checkMatrixCoversRoutes(t *testing.T, h *hub, rows []matrixRow) {
	t.Helper()
	doc := h.as("").must(http.StatusOK, "GET", "/api/v1/openapi.json", nil)
	have := map[string]bool{}
	for _, r := range rows {
		have[r.method+" "+routeParam.ReplaceAllString(r.path, "{$1}")] = true
	}
	var missing []string
	for path, ops := range doc["paths"].(map[string]any) {
		for method := range ops.(map[string]any) {
			if key := strings.ToUpper(method) + " " + path; !have[key] {
				missing = append(missing, key)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("routes without a row in the access matrix: %v", missing)
	}
}

// runMatrix calls every route as every principal and checks the exact status.
// fresh returns a new session of a valid principal, for routes that end the one they use.
func runMatrix(t *testing.T, h *hub, rows []matrixRow, principals []principal, secrets []string,
	fresh func(p principal, email string) string) int {
	t.Helper()
	checks := 0
	emails := map[string]string{"OPERATOR": "operator@acme.test", "DEVELOPER": "developer@acme.test", "ADMIN": strings.ToLower(adminEmail)}
	for i, r := range rows {
		for j, p := range principals {
			tok := p.token()
			if r.path == "/api/v1/auth/logout" && p.role != "" {
				tok = fresh(p, emails[p.name])
			}
			a := h.as(tok)
			status, raw := a.raw(r.method, concrete(r.path), r.body(i*100+j))
			checks++
			if want := r.want(p); status != want {
				t.Errorf("%s %s as %s = %d %s, want %d", r.method, r.path, p.name, status, tail(string(raw), 200), want)
			}
			for _, s := range secrets {
				if strings.Contains(string(raw), s) {
					t.Errorf("%s %s as %s: the answer holds a secret", r.method, r.path, p.name)
				}
			}
		}
	}
	return checks
}
