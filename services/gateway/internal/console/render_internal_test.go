package console

import (
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/gateway/internal/console/svgchart"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

// samples holds, for every page, data to render it with and ids it must show.
func samples() map[string]struct {
	data any
	ids  []string
} {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	health := healthcheck.Report{Status: "ok", NATS: "up", Redis: "up", Database: healthcheck.Database{Status: "up", LatencyMS: 1.5},
		Services: map[string]string{"identity": "up", "audit": "up"}, UptimeSeconds: 42}
	lic := licensing.Status{Licensee: "Acme", Status: "grace", ExpiresAt: at, DaysLeft: 1, Warning: "expires tomorrow",
		Validation: licensing.Validation{Mode: "online", NextDueAt: &at}}
	user := identity.User{ID: "u1", Email: "a@example.com", Name: "A", Role: identity.RoleAdmin, CreatedAt: at, LastLoginAt: &at}
	run := runners.Runner{ID: "r1", Name: "build-01", Environment: runners.EnvStaging, Labels: []string{"linux"}, Status: runners.StatusOnline, LastSeenAt: &at}
	rec := audit.Record{Seq: 7, Event: audit.Event{At: at, Action: "auth.login", Outcome: audit.Failure, Actor: audit.Actor{Type: "user", ID: "u1"}}}
	healthIDs := []string{"health", "health-status", "health-database", "health-nats", "health-redis", "health-service-identity", "health-uptime"}
	all := map[string]struct {
		data any
		ids  []string
	}{
		"status": {statusData{Health: health, SetupKnown: true}, append(healthIDs, "setup-licensed", "setup-bootstrapped")},
		"error":  {errorData{Code: "unavailable", Unavailable: true}, []string{"error-page", "error-status-link", "error-home"}},
		"dashboard": {dashboardData{Health: health, License: &lic, Fleet: newFleetCard(runners.Census{}), Recent: []jobRow{newJobRow(runners.Job{ID: "j1"})},
			Charts: []svgchart.Chart{fleetChart(newFleetCard(runners.Census{}))}},
			append(healthIDs, "license", "license-warning", "license-status", "license-expires", "license-days", "fleet", "fleet-table",
				"fleet-Staging-online", "fleet-All-busy", "fleet-Production-all", "fleet-total", "recent-jobs", "recent-jobs-table", "recent-job-j1", "recent-jobs-all", "charts", "chart-online", "chart-online-table")},
		"activate":    {activateData{License: "x"}, []string{"activate-form", "activate-license", "activate-file", "activate-submit"}},
		"bootstrap":   {bootstrapData{}, []string{"bootstrap-email", "bootstrap-name", "bootstrap-password", "bootstrap-confirm", "bootstrap-submit"}},
		"login":       {loginData{Next: "/users"}, []string{"login-email", "login-password", "login-next", "login-submit"}},
		"users":       {usersData{Users: []identity.User{user}, Roles: roles, Create: freshCreateForm, Cursor: "1", NextCursor: "2"}, []string{"users-table", "user-u1", "user-role-u1", "user-toggle-u1", "user-password-u1", "user-delete-u1", "users-next", "users-first", "users-create-email", "users-create-name", "users-create-password", "users-create-role", "users-create-submit"}},
		"user_delete": {user, []string{"user-delete-form", "user-delete-email", "user-delete-confirm", "user-delete-cancel"}},
		"license":     {licenseData{Status: lic}, []string{"license-status", "license-mode", "license-next-due", "license-validate", "license-usage-report", "license-renew-text", "license-renew-file", "license-renew-submit", "license-receipt-text", "license-receipt-file", "license-receipt-submit"}},
		"runners": {runnersData{Rows: []runnerRow{newRunnerRow(run, at)}, Environments: runners.Environments, Statuses: runners.Statuses,
			Next: "/runners?cursor=x", First: "/runners", Admin: true, Register: freshRegisterForm},
			[]string{"runners-filter", "runners-filter-environment", "runners-filter-status", "runners-filter-submit", "runners-table",
				"runner-r1", "runner-regenerate-r1", "runner-delete-r1", "runners-next", "runners-first", "runners-register",
				"runners-register-form", "runners-register-name", "runners-register-environment", "runners-register-labels", "runners-register-submit"}},
		"runner_secret": {secretData{Runner: run, Secret: "exk_ms_x", Command: "exekra-runner --id r1", SecretFile: AgentSecretFile, Fingerprint: "AB:CD"},
			[]string{"runner-secret-card", "runner-secret-warning", "runner-name", "runner-id", "runner-environment", "runner-secret",
				"runner-secret-copy", "runner-secret-install", "runner-command", "runner-command-copy", "runner-fingerprint", "runner-secret-done"}},
		"runner_regenerate": {run, []string{"runner-regenerate-name", "runner-regenerate-warning", "runner-regenerate-form", "runner-regenerate-confirm", "runner-regenerate-cancel"}},
		"runner_delete":     {run, []string{"runner-delete-name", "runner-delete-form", "runner-delete-confirm", "runner-delete-cancel"}},
		"packages": {packagesData{Name: "hello", Rows: []packageRow{newPackageRow(runners.Package{Name: "hello", Version: "1.0.0", SHA256: "abc", PublishedAt: at})},
			Next: "/packages?cursor=x", First: "/packages", CanPublish: true},
			[]string{"packages-table", "package-hello-1.0.0", "packages-next", "packages-first", "packages-all", "packages-jobs", "packages-start", "packages-publish-card",
				"packages-publish-form", "packages-file", "packages-publish"}},
		"jobs": {jobsData{Rows: []jobRow{newJobRow(runners.Job{ID: "j1", Package: "hello", Status: runners.JobRunning, CreatedAt: at})},
			Environments: runners.Environments, Statuses: runners.JobStatuses, Packages: []string{"hello"}, Next: "/jobs?cursor=x", First: "/jobs",
			Filter: listFilter{Package: "hello"}, Runners: []runners.Runner{run}},
			[]string{"jobs-filter", "jobs-filter-status", "jobs-filter-environment", "jobs-filter-package", "jobs-filter-runner", "jobs-filter-since",
				"jobs-filter-until", "jobs-filter-submit", "jobs-filter-clear", "jobs-table", "job-j1", "jobs-next", "jobs-first", "jobs-start-link"}},
		"job_start": {startData{Start: freshStartForm, Packages: []string{"hello"}, Versions: []string{"1.0.0"}, Environments: runners.Environments,
			Runners: []runnerChoice{{ID: "r1", Name: "build-01"}}, Params: paramsBlock{Prefix: "jobs-start", Declared: true,
				Params: []paramField{newParamField(runners.Parameter{Name: "n", Type: runners.ParamInteger, Description: "how many"}, nil, "jobs-start")}}},
			[]string{"jobs-start", "jobs-start-choose", "jobs-start-package", "jobs-start-version", "jobs-start-choose-submit", "jobs-start-form",
				"jobs-start-environment", "jobs-start-runner", "jobs-start-labels", "jobs-start-params", "jobs-start-param-n", "jobs-start-submit"}},
		"runner": {runnerData{runnerRow: newRunnerRow(run, at), Jobs: []jobRow{newJobRow(runners.Job{ID: "j1", Status: runners.JobRunning, CreatedAt: at})},
			Current: []jobRow{newJobRow(runners.Job{ID: "j1", Status: runners.JobRunning, CreatedAt: at})}, ChartNote: "none", Admin: true},
			[]string{"runner", "runner-status", "runner-id", "runner-all-jobs", "runner-regenerate", "runner-delete", "runner-charts", "runner-charts-note",
				"runner-current", "runner-jobs-table", "runner-job-j1"}},
		"job": {jobData{jobRow: newJobRow(runners.Job{ID: "j1", Package: "hello", Status: runners.JobPending, PendingReason: runners.PendingAllBusy, CancelRequested: true, CreatedAt: at}),
			Parameters: "{}", CanCancel: true, CanRerun: true, Logs: []logRow{newLogRow(runners.LogLine{Seq: 1, TS: at, Stream: "stdout", Message: "hi"})}, After: 1},
			[]string{"job", "job-id", "job-package", "job-version", "job-environment", "job-status", "job-attempts", "job-runner", "job-created-by",
				"job-created-at", "job-started-at", "job-finished-at", "job-exit-code", "job-pending-reason", "job-parameters", "job-cancel-form",
				"job-cancel", "job-cancel-requested", "job-logs", "job-back", "job-duration", "job-rerun-form", "job-rerun", "job-audit"}},
		"audit": {auditData{Items: []audit.Record{rec}, Older: "/audit?cursor=7", Newest: "/audit", ExportJSONL: "/api/v1/audit/export?format=jsonl", ExportCSV: "/api/v1/audit/export?format=csv", Verify: "chain BROKEN at seq 7: hash mismatch"}, []string{"audit-verify", "audit-form", "audit-actor", "audit-action", "audit-target", "audit-since", "audit-until", "audit-search", "audit-table", "audit-7", "audit-older", "audit-newest", "audit-export-jsonl", "audit-export-csv"}},
	}
	maps.Copy(all, scheduleSamples(at))
	maps.Copy(all, assetSamples(at))
	maps.Copy(all, tokenSamples(at))
	return all
}

func TestEveryPageRenders(t *testing.T) {
	admin := &identity.Principal{User: identity.User{ID: "u1", Email: "a@example.com", Role: identity.RoleAdmin}}
	con := &Console{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Principal: func(*gin.Context) *identity.Principal { return admin }}
	if err := con.parse(); err != nil {
		t.Fatal(err)
	}
	con.table = con.routes()
	all := samples()
	for _, name := range pageNames {
		t.Run(name, func(t *testing.T) {
			s, ok := all[name]
			if !ok {
				t.Fatalf("no sample for page %s", name)
			}
			w := httptest.NewRecorder()
			c, _ := gin.CreateTestContext(w)
			c.Request = httptest.NewRequest(http.MethodGet, "/?flash=user_created", nil)
			c.Set(csrfKey, "the-token")
			con.show(c, http.StatusOK, name, page{Title: "T", Error: "boom", Data: s.data})
			body := w.Body.String()
			if w.Code != http.StatusOK || strings.Contains(body, "ZgotmplZ") {
				t.Fatalf("status %d; body: %s", w.Code, body)
			}
			for _, id := range append(s.ids, "nav-users", "nav-audit", "nav-logout", "flash", "error") {
				if !strings.Contains(body, `id="`+id+`"`) {
					t.Errorf("no element #%s", id)
				}
			}
			if strings.Count(body, `<form method="post"`) != strings.Count(body, `name="csrf" value="the-token"`) {
				t.Error("a form lacks the CSRF field")
			}
		})
	}
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"": "/", "/users": "/users", "/audit?actor=a&since=x": "/audit?actor=a&since=x",
		"//evil.example": "/", "/\\evil.example": "/", "https://evil.example/": "/", "evil": "/",
		"javascript:alert(1)": "/", "/\r\nSet-Cookie:x": "/", "/login?next=/x": "/", "/logout": "/",
	}
	for raw, want := range tests {
		if got := safeNext(raw); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestParseUTC(t *testing.T) {
	want := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	for _, raw := range []string{"2026-01-02T03:04", "2026-01-02T03:04:00", "2026-01-02T04:04:00+01:00", "2026-01-02T03:04:00.000"} {
		if got, err := parseUTC("since", raw); err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseUTC(%q) = %v, %v", raw, got, err)
		}
	}
	if _, err := parseUTC("since", "02/01/2026"); err == nil {
		t.Error("a foreign format was accepted")
	}
}

func TestWhen(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	var none *time.Time
	got := []string{when(at), when(&at), when(none), when(time.Time{})}
	if !slices.Equal(got, []string{"2026-01-02 02:04 UTC", "2026-01-02 02:04 UTC", "—", "—"}) {
		t.Fatalf("when = %q", got)
	}
}
