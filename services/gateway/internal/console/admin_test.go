package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/contract/audit"
)

func TestDashboard(t *testing.T) {
	h := newHub(t, true)
	health := []string{`id="health-status"`, `id="health-database"`, `id="health-nats"`, `id="health-redis"`,
		`id="health-service-identity"`, `id="health-uptime"`}
	t.Run("an admin sees health and the license with its warning", func(t *testing.T) {
		w := h.get("/", adminToken)
		wantPage(t, w, http.StatusOK, append(health, `id="license-warning" role="alert">The license expires in 7 days; renew it.<`,
			`id="license-status">active<`, `id="license-licensee">Acme Corp<`, `id="license-days">7<`, `data-at="2026-04-01T00:00:00Z"`)...)
		h.fake.with(func(f *fakeHub) {
			if want := (caller.Actor{Type: "user", ID: adminUser.ID, Role: "ADMIN", Email: adminUser.Email}); f.lastStatusBy != want {
				t.Fatalf("licensing was asked by %+v, want %+v", f.lastStatusBy, want)
			}
		})
	})
	t.Run("runners by status and the recent jobs", func(t *testing.T) {
		wantPage(t, h.get("/", devToken), http.StatusOK, `id="fleet-table"`, `id="fleet-Production-online">1<`,
			`id="fleet-Staging-busy">1<`, `id="fleet-All-never_connected">1<`, `id="fleet-All-offline">0<`, `id="fleet-total">3<`,
			`id="recent-jobs-table"`, `id="recent-job-`, `href="/jobs" id="recent-jobs-all"`)
	})
	t.Run("a developer sees only that the license is active", func(t *testing.T) {
		w := h.get("/", devToken)
		wantPage(t, w, http.StatusOK, append(health, `id="license-state"`, ">active</span>")...)
		wantNot(t, w, "Acme Corp", `id="license-error"`)
	})
	t.Run("anyone sees the status page", func(t *testing.T) {
		wantPage(t, h.get("/status", ""), http.StatusServiceUnavailable, append(health, `id="setup-licensed">active<`)...)
	})
}

func TestServicesDown(t *testing.T) {
	h := newHub(t, false)
	t.Run("the start page is a friendly 503", func(t *testing.T) {
		w := h.get("/", "")
		wantPage(t, w, http.StatusServiceUnavailable, `data-code="unavailable"`, `id="error-status-link"`, "try again shortly")
		wantNot(t, w, "exekra.")
	})
	t.Run("the status page still renders", func(t *testing.T) {
		wantPage(t, h.get("/status", ""), http.StatusServiceUnavailable, `id="health-status">degraded<`,
			"cannot be read while the identity or licensing service is down")
	})
	t.Run("signing in says the service is unavailable", func(t *testing.T) {
		wantPage(t, h.post("/login", "", url.Values{"email": {"a@example.com"}, "password": {"x"}}), http.StatusServiceUnavailable,
			`id="error"`, "unavailable")
	})
}

func TestUsers(t *testing.T) {
	h := newHub(t, true)
	t.Run("the table and the create form", func(t *testing.T) {
		wantPage(t, h.get("/users", adminToken), http.StatusOK, `id="users-table"`, `id="user-u-dev" data-email="dev@example.com" data-role="DEVELOPER"`,
			`id="user-role-u-dev"`, `id="user-toggle-u-dev"`, `id="user-password-u-dev"`, `id="user-delete-u-dev"`,
			`id="users-create-email"`, `id="users-create-name"`, `id="users-create-password"`, `id="users-create-submit"`,
			`<option value="OPERATOR" selected>OPERATOR</option>`, "2026-01-03 03:04 UTC", "(you)")
	})
	create := url.Values{"email": {"op@example.com"}, "name": {"Op"}, "password": {password}, "role": {"DEVELOPER"}}
	t.Run("a user is created", func(t *testing.T) {
		wantRedirect(t, h.post("/users", adminToken, create), "/users?flash=user_created")
		wantPage(t, h.get("/users?flash=user_created", adminToken), http.StatusOK, "User created.", `data-email="op@example.com" data-role="DEVELOPER"`)
	})
	t.Run("a duplicate is refused inline with the form kept", func(t *testing.T) {
		wantPage(t, h.post("/users", adminToken, create), http.StatusConflict, "a user with this email exists",
			`id="users-create-email" name="email" value="op@example.com"`, `<option value="DEVELOPER" selected>DEVELOPER</option>`)
	})
	t.Run("a role changes", func(t *testing.T) {
		wantRedirect(t, h.post("/users/u-dev/role", adminToken, url.Values{"role": {"OPERATOR"}}), "/users?flash=user_role")
	})
	t.Run("the last admin is not demoted", func(t *testing.T) {
		wantPage(t, h.post("/users/u-admin/role", adminToken, url.Values{"role": {"OPERATOR"}}), http.StatusConflict, "last active administrator")
	})
	t.Run("a user is disabled and enabled", func(t *testing.T) {
		wantRedirect(t, h.post("/users/u-dev/disabled", adminToken, url.Values{"disabled": {"true"}}), "/users?flash=user_disabled")
		wantPage(t, h.get("/users", adminToken), http.StatusOK, `data-disabled="true"`, `id="user-toggle-u-dev" class="user-toggle">Enable<`)
		wantRedirect(t, h.post("/users/u-dev/disabled", adminToken, url.Values{"disabled": {"false"}}), "/users?flash=user_enabled")
	})
	t.Run("a password reset needs a password", func(t *testing.T) {
		wantPage(t, h.post("/users/u-dev/password", adminToken, url.Values{"password": {""}}), http.StatusBadRequest, "Type the new password.")
		wantRedirect(t, h.post("/users/u-dev/password", adminToken, url.Values{"password": {"new one"}}), "/users?flash=user_password")
	})
	t.Run("deleting asks first", func(t *testing.T) {
		wantPage(t, h.get("/users/u-dev/delete", adminToken), http.StatusOK, `id="user-delete-email">dev@example.com<`,
			`action="/users/u-dev/delete"`, `id="user-delete-confirm"`, `id="user-delete-cancel"`)
		wantRedirect(t, h.post("/users/u-dev/delete", adminToken, nil), "/users?flash=user_deleted")
		wantNot(t, h.get("/users", adminToken), "dev@example.com")
	})
	t.Run("the last admin is not deleted", func(t *testing.T) {
		wantPage(t, h.post("/users/u-admin/delete", adminToken, nil), http.StatusConflict, "last active administrator")
	})
	t.Run("an unknown user's confirmation is a 404", func(t *testing.T) {
		wantPage(t, h.get("/users/u-nobody/delete", adminToken), http.StatusNotFound, "no such user")
	})
}

func TestLicensePage(t *testing.T) {
	h := newHub(t, true)
	t.Run("the details and forms", func(t *testing.T) {
		wantPage(t, h.get("/license", adminToken), http.StatusOK, `id="license-mode">offline<`, `id="license-last-validated">2026-03-01 12:00 UTC<`,
			`id="license-next-due">—<`, `id="license-pending-reports">2<`, `id="license-usage-runners">3<`, `id="license-max-runners">10<`,
			`id="license-warning"`, `id="license-validate"`, `href="/api/v1/license/usage-report" id="license-usage-report"`,
			`id="license-renew-text"`, `id="license-renew-file"`, `id="license-receipt-text"`, `id="license-receipt-submit"`)
	})
	t.Run("validate now", func(t *testing.T) {
		wantRedirect(t, h.post("/license/validate", adminToken, nil), "/license?flash=license_validated")
	})
	t.Run("a bad receipt is refused inline and kept", func(t *testing.T) {
		wantPage(t, h.post("/license/receipt", adminToken, url.Values{"receipt": {"NOT SIGNED"}}), http.StatusBadRequest,
			"the receipt is not signed by Exekra", "NOT SIGNED</textarea>")
	})
	t.Run("a good receipt is imported", func(t *testing.T) {
		wantRedirect(t, h.post("/license/receipt", adminToken, url.Values{"receipt": {goodRcpt}}), "/license?flash=receipt_imported")
	})
	t.Run("a renewal", func(t *testing.T) {
		wantRedirect(t, h.post("/license/renew", adminToken, url.Values{"license": {goodLic}}), "/license?flash=license_renewed")
		wantPage(t, h.post("/license/renew", adminToken, url.Values{"license": {""}}), http.StatusBadRequest, "Paste the file")
	})
}

func TestAuditPage(t *testing.T) {
	h := newHub(t, true)
	lastQuery := func() (q audit.QueryRequest) {
		h.fake.with(func(f *fakeHub) { q = f.lastQuery })
		return q
	}
	t.Run("the newest events, the chain state and the export links", func(t *testing.T) {
		w := h.get("/audit?actor=admin%40example.com&action=user.create&since=2026-01-02T03%3A04&until=2026-02-01T00%3A00%3A30", adminToken)
		wantPage(t, w, http.StatusOK, `id="audit-verify" class="verify ok" data-ok="true">chain verified: 100 events, head 9f86d081884c<`,
			`id="audit-100"`, `id="audit-98"`, `class="audit-source-ip">192.0.2.7<`, `class="audit-target"><a href="/users#user-u-9">user u-9</a><`, `id="audit-since" name="since" value="2026-01-02T03:04"`,
			`id="audit-older"`, `cursor=98`, `id="audit-export-csv"`,
			`/api/v1/audit/export?action=user.create&amp;actor=admin%40example.com&amp;format=jsonl&amp;since=2026-01-02T03%3A04%3A00Z&amp;until=2026-02-01T00%3A00%3A30Z`)
		wantNot(t, w, `id="audit-newest"`)
		q := lastQuery()
		if q.Actor != adminUser.Email || q.Action != "user.create" || !q.Since.Equal(time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)) ||
			!q.Until.Equal(time.Date(2026, 2, 1, 0, 0, 30, 0, time.UTC)) || q.BeforeSeq != 0 || q.Ascending || q.Limit != 50 {
			t.Fatalf("query = %+v", q)
		}
	})
	t.Run("older pages follow the cursor", func(t *testing.T) {
		w := h.get("/audit?cursor=98", adminToken)
		wantPage(t, w, http.StatusOK, `id="audit-97"`, `id="audit-newest"`)
		wantNot(t, w, `id="audit-older"`)
		if q := lastQuery(); q.BeforeSeq != 98 {
			t.Fatalf("before_seq = %d", q.BeforeSeq)
		}
	})
	for name, path := range map[string]string{"a bad time": "/audit?since=yesterday", "a bad cursor": "/audit?cursor=-3"} {
		t.Run(name+" is refused inline", func(t *testing.T) {
			w := h.get(path, adminToken)
			wantPage(t, w, http.StatusBadRequest, `id="error"`, `id="audit-form"`)
			if !strings.Contains(w.Body.String(), "2026-01-02T15:04") && !strings.Contains(w.Body.String(), "page link") {
				t.Fatal("the message does not say what is wrong")
			}
		})
	}
}
