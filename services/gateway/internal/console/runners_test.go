package console_test

import (
	"net/http"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
)

func TestRunnersList(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	adminControls := []string{`id="runners-register"`, `id="runners-register-form"`, `method="post" action="/runners"`,
		`id="runner-regenerate-r-1"`, `id="runner-delete-r-1"`, `/runners/r-1/regenerate`, `/runners/r-1/delete`}
	t.Run("an operator sees the table without admin controls", func(t *testing.T) {
		w := h.get("/runners", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-runners" href="/runners" aria-current="page"`, `id="runners-table"`,
			`id="runner-r-1" data-id="r-1" data-name="build-01" data-environment="Production" data-status="online"`,
			`class="runner-name"><a href="/runners/r-1" title="runner r-1">build-01</a><`, `class="runner-labels">linux, gpu<`,
			`class="runner-status badge status-online">online<`, `class="runner-last-seen" data-at="2026-01-02T03:04:05Z"`,
			`class="runner-last-seen-at muted">2026-01-02 03:04 UTC<`, `class="runner-connected-from">203.0.113.5<`,
			`class="runner-version">1.2.3<`, `class="runner-commit muted" title="the commit the agent was built from">0123456789ab<`, `class="runner-os">linux/amd64<`, `class="runner-hostname muted">build01.example.com<`,
			`class="runner-cpu num">12.5 %<`, `class="runner-memory num">40.0 %<`, `class="runner-disk-free num">20.0 GiB<`,
			// never connected: no time, no metrics
			`data-status="never_connected"`, `class="runner-status badge status-never_connected">never connected<`,
			`class="runner-last-seen" data-at=""><span class="runner-last-seen-ago">never<`, `class="runner-cpu num">—<`,
			// busy, seen a little over three hours ago
			`class="runner-status badge status-busy">busy<`, `class="runner-last-seen-ago">3 h ago<`, `class="runner-disk-free num">512 B<`,
			`id="runners-filter-environment"`, `id="runners-filter-status"`)
		wantNot(t, w, adminControls...)
		wantNot(t, w, `id="runners-register-name"`, `id="runners-next"`, `id="runners-first"`)
	})
	t.Run("an admin sees the register form and the row controls", func(t *testing.T) {
		wantPage(t, h.get("/runners", adminToken), http.StatusOK, append(adminControls,
			`id="runners-register-name"`, `id="runners-register-environment"`, `<option value="Development" selected>Development</option>`,
			`id="runners-register-labels"`, `id="runners-register-submit"`)...)
	})
	t.Run("every signed-in role finds the page in the menu", func(t *testing.T) {
		for _, tok := range []string{opToken, devToken, adminToken} {
			wantPage(t, h.get("/", tok), http.StatusOK, `id="nav-runners" href="/runners"`)
		}
		wantNot(t, h.get("/status", ""), `id="nav-runners"`)
	})
	t.Run("anonymous visitors are sent to sign in", func(t *testing.T) {
		wantRedirect(t, h.get("/runners", ""), "/login?next=%2Frunners")
	})
	t.Run("filters reach the service and paging keeps them", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.runners.nextCursor = "tok/2" })
		w := h.get("/runners?environment=Production&status=online", opToken)
		wantPage(t, w, http.StatusOK, `<option value="Production" selected>`, `<option value="online" selected>online</option>`,
			`id="runners-table" data-environment="Production"`, `id="runner-r-1"`,
			`href="/runners?cursor=tok%2F2&amp;environment=Production&amp;status=online" id="runners-next"`)
		wantNot(t, w, `id="runner-r-2"`, `id="runners-first"`)
		h.fake.with(func(f *fakeHub) {
			if want := (runners.ListRequest{Limit: 50, Environment: "Production", Status: "online"}); f.runners.lastList != want {
				t.Fatalf("list request = %+v, want %+v", f.runners.lastList, want)
			}
		})
		w = h.get("/runners?cursor=tok%2F2&environment=Production&status=online", opToken)
		wantPage(t, w, http.StatusOK, `href="/runners?environment=Production&amp;status=online" id="runners-first"`)
		wantNot(t, w, `id="runners-next"`)
		h.fake.with(func(f *fakeHub) {
			f.runners.nextCursor = ""
			if f.runners.lastList.Cursor != "tok/2" {
				t.Fatalf("cursor = %q", f.runners.lastList.Cursor)
			}
		})
	})
	t.Run("a bad filter is refused inline", func(t *testing.T) {
		wantPage(t, h.get("/runners?status=sleeping", opToken), http.StatusBadRequest, `id="error"`, "status must be one of",
			`id="runners-filter"`, `id="runners-table"`, "No runners match the filter.")
	})
	t.Run("the flash of a deletion", func(t *testing.T) {
		wantPage(t, h.get("/runners?flash=runner_deleted", opToken), http.StatusOK, `id="flash" role="status">Runner deleted; its credentials no longer work.<`)
	})
}
