package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/gateway/internal/websession"
)

func TestPackagesPages(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	publish := []string{`id="packages-publish-card"`, `id="packages-publish-form"`, `id="packages-file"`, `id="packages-publish"`}
	t.Run("an operator sees the latest versions without the publish form", func(t *testing.T) {
		w := h.get("/packages", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-packages" href="/packages" aria-current="page"`, `id="packages-table"`,
			`id="package-hello-1.2.0" data-name="hello" data-version="1.2.0"`, `<a href="/packages/hello">hello</a>`,
			`class="package-version"><a href="/jobs/new?package=hello&amp;version=1.2.0" title="start a job of hello@1.2.0">1.2.0</a><`, `title="0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef">0123456789ab<`,
			`class="package-size num">1.5 KiB<`, `class="package-published-by">dev@example.com<`,
			`data-at="2026-02-03T04:05:06Z">2026-02-03 04:05 UTC<`, `id="package-report-0.1.0"`, `class="package-size num">20.0 MiB<`)
		wantNot(t, w, publish...)
		wantNot(t, w, `id="package-hello-1.0.0"`)
	})
	t.Run("a developer sees the publish form with the CSRF token", func(t *testing.T) {
		r := request(http.MethodGet, "/packages", nil, devToken)
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
		w := h.serve(r)
		wantPage(t, w, http.StatusOK, append(publish, `action="/api/v1/packages" enctype="multipart/form-data"`,
			`data-csrf="`+websession.Token(devToken)+`"`, `name="package"`, `id="error" role="alert" hidden`)...)
	})
	t.Run("a package's versions", func(t *testing.T) {
		w := h.get("/packages/hello", opToken)
		wantPage(t, w, http.StatusOK, `data-package="hello"`, `id="package-hello-1.2.0"`, `id="package-hello-1.0.0"`,
			`class="package-published-by">admin@example.com<`, `id="packages-all"`)
		wantNot(t, w, `id="package-report-0.1.0"`)
		wantPage(t, h.get("/packages/nope", opToken), http.StatusNotFound, "no such package")
	})
	t.Run("anonymous visitors are sent to sign in", func(t *testing.T) {
		wantRedirect(t, h.get("/packages", ""), "/login?next=%2Fpackages")
	})
}

func TestJobsList(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("an operator sees the jobs with names, links and live cells", func(t *testing.T) {
		w := h.get("/jobs", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-jobs" href="/jobs" aria-current="page"`, `id="nav-packages"`, `id="jobs-table"`,
			`data-live="true"`, `id="job-j-pend" data-id="j-pend" data-status="pending"`, `<a href="/jobs/j-pend" title="j-pend"><code class="id">j-pend</code></a>`,
			`<a href="/packages/hello">hello</a>@1.2.0`,
			`class="job-status badge status-pending">pending</span> <span class="pending-reason" data-reason="no_runner_online">no runner online<`,
			`id="job-j-done"`, `class="job-status badge status-failed">failed<`,
			`class="job-runner"><a href="/runners/r-1" title="runner r-1">build-01</a><`, `class="job-attempts num">1/1<`,
			`data-start="2026-02-03T05:05:06Z" data-end="2026-02-03T06:05:06Z">1 h 00 min<`,
			`id="jobs-filter-status"`, `id="jobs-filter-environment"`, `id="jobs-filter-package"`, `<option value="hello">`, `<option value="report">`,
			`id="jobs-filter-runner"`, `<option value="r-1">build-01 (Production)</option>`, `id="jobs-filter-since"`, `id="jobs-filter-until"`,
			`id="jobs-start-link" class="button"`)
		wantNot(t, w, `id="jobs-start-form"`)
	})
	t.Run("the package and time filters are applied to the service's pages", func(t *testing.T) {
		w := h.get("/jobs?package=report", opToken)
		wantPage(t, w, http.StatusOK, `id="job-j-done"`, `<option value="report" selected>`, `id="jobs-filter-clear"`, `data-live="false"`)
		wantNot(t, w, `id="job-j-pend"`)
		wantPage(t, h.get("/jobs?since=2030-01-01T00:00", opToken), http.StatusOK, "No jobs match the filter.")
		wantPage(t, h.get("/jobs?until=bad", opToken), http.StatusBadRequest, `id="error"`, "until must be a date and time")
	})
	t.Run("the runner filter reaches the service", func(t *testing.T) {
		h.get("/jobs?runner=r-1", opToken)
		h.fake.with(func(f *fakeHub) {
			if f.jobs.lastList.RunnerID != "r-1" {
				t.Fatalf("list request = %+v", f.jobs.lastList)
			}
		})
	})
	t.Run("filters reach the service", func(t *testing.T) {
		w := h.get("/jobs?status=failed&environment=Staging", opToken)
		wantPage(t, w, http.StatusOK, `<option value="failed" selected>`, `<option value="Staging" selected>`, `id="job-j-done"`)
		wantNot(t, w, `id="job-j-pend"`)
		h.fake.with(func(f *fakeHub) {
			if want := (runners.ListJobsRequest{Limit: 50, Status: "failed", Environment: "Staging"}); f.jobs.lastList != want {
				t.Fatalf("list request = %+v, want %+v", f.jobs.lastList, want)
			}
		})
	})
	t.Run("a bad filter is refused inline", func(t *testing.T) {
		wantPage(t, h.get("/jobs?status=sleeping", opToken), http.StatusBadRequest, `id="error"`, "status must be one of",
			`id="jobs-table"`, "No jobs match the filter.")
	})
	t.Run("anonymous visitors are sent to sign in", func(t *testing.T) {
		wantRedirect(t, h.get("/jobs", ""), "/login?next=%2Fjobs")
		wantRedirect(t, h.get("/jobs/j-pend", ""), "/login?next=%2Fjobs%2Fj-pend")
	})
}

func TestStartJob(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	form := func(params string) url.Values {
		return url.Values{"package": {" hello "}, "version": {"latest"}, "environment": {"Production"}, "parameters": {params}}
	}
	t.Run("an operator starts a job and lands on its page", func(t *testing.T) {
		wantRedirect(t, h.post("/jobs", opToken, form("{\n  \"who\": \"world\"\n}")), "/jobs/j-new-1?flash=job_started")
		h.fake.with(func(f *fakeHub) {
			r := f.jobs.lastCreate
			if r == nil || r.Package != "hello" || r.Version != "" || r.Environment != "Production" || string(r.Parameters) != `{"who":"world"}` {
				t.Fatalf("create request = %+v", r)
			}
		})
		wantPage(t, h.get("/jobs/j-new-1?flash=job_started", opToken), http.StatusOK, `id="flash" role="status">Job started.<`,
			`id="job-status">pending<`, `id="job-pending-reason" data-reason="queued"`)
	})
	t.Run("a version is passed on", func(t *testing.T) {
		f := form("")
		f.Set("version", "1.0.0")
		wantRedirect(t, h.post("/jobs", opToken, f), "/jobs/j-new-2?flash=job_started")
		h.fake.with(func(f *fakeHub) {
			if r := f.jobs.lastCreate; r.Version != "1.0.0" || r.Parameters != nil {
				t.Fatalf("create request = %+v", r)
			}
		})
	})
	t.Run("parameters that are not a JSON object are refused before the service", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.jobs.lastCreate = nil })
		for _, bad := range []string{"{", "[1]", `"x"`, "{} {}"} {
			w := h.post("/jobs", opToken, form(bad))
			wantPage(t, w, http.StatusBadRequest, `id="error"`, "Parameters must be a JSON object", `<option value="hello" selected>hello</option>`, `id="jobs-start-parameters"`)
		}
		h.fake.with(func(f *fakeHub) {
			if f.jobs.lastCreate != nil {
				t.Fatalf("the service was called: %+v", f.jobs.lastCreate)
			}
		})
	})
	t.Run("the service's refusal is shown inline with the form kept", func(t *testing.T) {
		f := form("{}")
		f.Set("package", "nope")
		w := h.post("/jobs", opToken, f)
		wantPage(t, w, http.StatusNotFound, `id="error"`, "no such package version", `value="nope"`, `<option value="Production" selected>`)
	})
	t.Run("the start form needs CSRF", func(t *testing.T) {
		r := request(http.MethodPost, "/jobs", form("{}"), opToken)
		wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
	})
}

func TestJobDetail(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("a pending job shows why it waits and can be canceled", func(t *testing.T) {
		w := h.get("/jobs/j-pend", opToken)
		wantPage(t, w, http.StatusOK, `id="job" data-id="j-pend" data-status="pending" data-finished="false"`,
			`id="job-status">pending<`, `id="job-pending-reason" data-reason="no_runner_online">Waiting: no runner online<`,
			`id="job-attempts">0 of 1<`, `id="job-runner">—<`, `id="job-exit-code">—<`, `id="job-started-at">—<`,
			`id="job-cancel-form"`, `method="post" action="/jobs/j-pend/cancel"`, `id="job-cancel"`,
			`id="job-parameters">{`, `&#34;who&#34;: &#34;world&#34;`,
			`id="job-logs" data-job="j-pend" data-after="0" data-finished="false"`, `id="job-logs-empty"`)
		wantNot(t, w, `id="job-error"`)
	})
	t.Run("a finished job shows its result and logs, and no cancel", func(t *testing.T) {
		w := h.get("/jobs/j-done", opToken)
		wantPage(t, w, http.StatusOK, `data-finished="true"`, `class="job-status badge status-failed" id="job-status">failed<`,
			`id="job-runner"><a href="/runners/r-1" title="runner r-1">build-01</a>`, `href="/jobs?runner=r-1" id="job-runner-jobs"`,
			`id="job-duration"><span class="duration" data-start="2026-02-03T05:05:06Z" data-end="2026-02-03T06:05:06Z">1 h 00 min<`,
			`id="job-rerun-form"`, `action="/jobs/j-done/rerun"`, `id="job-history"`, `id="job-attempt-1" data-outcome="failed"`,
			`<a href="/runners/r-1" title="runner r-1">build-01</a></td>`, `class="badge attempt-failed">failed<`, `id="job-exit-code">2<`, `id="job-error" class="down">exit status 2<`,
			`id="job-started-at">2026-02-03 05:05 UTC<`, `id="job-finished-at">2026-02-03 06:05 UTC<`,
			`id="job-logs" data-job="j-done" data-after="2" data-finished="true"`,
			`data-seq="1" data-stream="stdout"><span class="log-ts">05:05:06</span> <span class="log-message">starting &lt;report&gt;</span>`,
			`class="log-line stream-stderr" data-seq="2"`)
		wantNot(t, w, `id="job-cancel-form"`, `id="job-pending-reason"`, `id="job-logs-empty"`)
	})
	t.Run("an unknown job", func(t *testing.T) {
		wantPage(t, h.get("/jobs/nope", opToken), http.StatusNotFound, "no such job")
	})
}

func TestCancelJob(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	canceled := func() (ids []string) {
		h.fake.with(func(f *fakeHub) { ids = append(ids, f.jobs.canceled...) })
		return ids
	}
	t.Run("without the CSRF token nothing happens", func(t *testing.T) {
		r := request(http.MethodPost, "/jobs/j-pend/cancel", url.Values{}, opToken)
		wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
		r = request(http.MethodPost, "/jobs/j-pend/cancel", url.Values{websession.CSRFField: {"forged"}}, opToken)
		r.AddCookie(&http.Cookie{Name: websession.CSRFCookie, Value: csrfToken})
		wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
		if ids := canceled(); len(ids) != 0 {
			t.Fatalf("canceled %q", ids)
		}
	})
	t.Run("an operator cancels a pending job", func(t *testing.T) {
		wantRedirect(t, h.post("/jobs/j-pend/cancel", opToken, nil), "/jobs/j-pend?flash=job_cancel")
		if ids := canceled(); strings.Join(ids, ",") != "j-pend" {
			t.Fatalf("canceled %q", ids)
		}
		w := h.get("/jobs/j-pend?flash=job_cancel", opToken)
		wantPage(t, w, http.StatusOK, `id="flash" role="status">Cancel requested.<`, `id="job-status">canceled<`)
		wantNot(t, w, `id="job-cancel-form"`, `id="job-pending-reason"`)
	})
	t.Run("a finished job is refused inline", func(t *testing.T) {
		wantPage(t, h.post("/jobs/j-done/cancel", opToken, nil), http.StatusConflict, `id="error"`, "the job has finished", `id="job-status"`)
	})
	t.Run("an unknown job", func(t *testing.T) {
		wantPage(t, h.post("/jobs/nope/cancel", opToken, nil), http.StatusNotFound, "no such job")
	})
}
