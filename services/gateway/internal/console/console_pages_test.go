package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestStartPageBuildsTheFormFromDeclaredParameters(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("a version without declared parameters gets the JSON box", func(t *testing.T) {
		w := h.get("/jobs/new?package=hello", opToken)
		wantPage(t, w, http.StatusOK, `id="jobs-start-package"`, `<option value="hello" selected>hello</option>`, `<option value="params">`,
			`id="jobs-start-version"`, `<option value="1.2.0">1.2.0</option>`, `<option value="1.0.0">1.0.0</option>`,
			`id="jobs-start-runner"`, `<option value="r-1">build-01 (Production)</option>`, `id="jobs-start-labels"`,
			`id="jobs-start-parameters"`, `id="jobs-start-submit"`)
		wantNot(t, w, `id="jobs-start-params"`)
	})
	t.Run("declared parameters become labelled fields", func(t *testing.T) {
		w := h.get("/jobs/new?package=params", opToken)
		wantPage(t, w, http.StatusOK, `id="jobs-start-params"`, `name="declared" value="true"`,
			`<label for="jobs-start-param-who">who <span class="muted">(string, required)</span></label>`,
			`id="jobs-start-param-who" name="param.who" value="" data-type="string"`, `aria-describedby="jobs-start-param-who-help"`,
			`id="jobs-start-param-count" name="param.count" value="3" data-type="integer"`, `inputmode="decimal"`,
			`id="jobs-start-param-ratio" name="param.ratio"`,
			`<select id="jobs-start-param-loud" name="param.loud" data-type="boolean"`, `<option value="false" selected>false</option>`,
			`<select id="jobs-start-param-mode" name="param.mode"`, `<option value="fast">fast</option>`)
		wantNot(t, w, `id="jobs-start-parameters"`)
	})
	form := url.Values{"package": {"params"}, "version": {"latest"}, "environment": {"Staging"}, "declared": {"true"},
		"runner_id": {"r-1"}, "labels": {"linux, gpu"},
		"param.who": {"world"}, "param.count": {"7"}, "param.ratio": {"0.5"}, "param.loud": {"true"}, "param.mode": {""}}
	t.Run("typed values go to the service as JSON of their type", func(t *testing.T) {
		w := h.post("/jobs", opToken, form)
		if w.Code != http.StatusSeeOther {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		h.fake.with(func(f *fakeHub) {
			r := f.jobs.lastCreate
			if r == nil || string(r.Parameters) != `{"count":7,"loud":true,"ratio":0.5,"who":"world"}` || r.RunnerID != "r-1" ||
				strings.Join(r.Labels, "|") != "linux|gpu" {
				t.Fatalf("create request = %+v (%s)", r, r.Parameters)
			}
		})
	})
	t.Run("the service's refusal of a parameter marks it", func(t *testing.T) {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set("param.who", "")
		w := h.post("/jobs", opToken, f)
		wantPage(t, w, http.StatusBadRequest, `id="error"`, `parameter &#34;who&#34;: required, and missing`,
			`id="jobs-start-param-who" name="param.who" value="" data-type="string" autocomplete="off"`, `aria-invalid="true"`, `value="7"`)
	})
	for field, bad := range map[string]string{"count": "many", "ratio": "x1", "loud": "yes"} {
		t.Run("a bad "+field+" is refused naming it", func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			f.Set("param."+field, bad)
			w := h.post("/jobs", opToken, f)
			wantPage(t, w, http.StatusBadRequest, `id="error"`, "Parameter "+field+" must be", `id="jobs-start-param-`+field+`"`, `aria-invalid="true"`)
			if strings.Count(w.Body.String(), `aria-invalid="true"`) != 1 {
				t.Error("more than the refused field is marked invalid")
			}
		})
	}
}

func TestRerunJob(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	w := h.post("/jobs/j-pend/rerun", opToken, url.Values{"idempotency_key": {"k1"}})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/jobs/j-new-") {
		t.Fatalf("rerun: %d %s", w.Code, w.Header().Get("Location"))
	}
	h.fake.with(func(f *fakeHub) {
		if r := f.jobs.lastRerun; r == nil || r.ID != "j-pend" || r.IdempotencyKey != "k1" {
			t.Fatalf("rerun request = %+v", r)
		}
	})
	wantPage(t, h.get(w.Header().Get("Location"), opToken), http.StatusOK, `id="job-rerun-of"`, `href="/jobs/j-pend"`)
	wantPage(t, h.post("/jobs/nope/rerun", opToken, url.Values{}), http.StatusNotFound, "no such job")
	r := request(http.MethodPost, "/jobs/j-pend/rerun", url.Values{}, opToken)
	wantPage(t, h.serve(r), http.StatusForbidden, "This form has expired")
}

func TestRunnerPage(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	w := h.get("/runners/r-1", opToken)
	wantPage(t, w, http.StatusOK, `id="runner" data-id="r-1" data-status="online"`, `<h2>build-01 `, `id="runner-id"><code class="copyable">r-1</code>`,
		`id="runner-cpu">12.5 %<`, `id="runner-commit">0123456789ab<`, `href="/jobs?runner=r-1" id="runner-all-jobs"`, `id="runner-jobs-table"`, `id="runner-job-j-done"`,
		`<a href="/jobs/j-done" title="j-done">`, `id="runner-charts"`, `id="chart-cpu"`, `id="chart-memory"`, `id="chart-disk"`,
		`<th scope="row">04:06</th><td class="num">12.5%</td><td class="num">50%</td>`, `<td class="num">19 GiB</td>`, `<th scope="col">Time (UTC)</th>`)
	wantNot(t, w, `id="runner-charts-note"`)
	wantNot(t, w, `id="runner-delete"`)
	wantPage(t, h.get("/runners/nope", opToken), http.StatusNotFound)
}

func TestDashboardCharts(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	w := h.get("/", opToken)
	wantPage(t, w, http.StatusOK, `id="charts"`, `id="chart-finished"`, `role="img"`, `id="chart-waiting"`, `id="chart-online"`, `id="chart-pickup"`,
		`<th scope="row">Staging</th><td class="num">3</td>`, `<td class="num">4</td><td class="num">1</td><td class="num">0</td>`,
		`<td class="num">2.3 s</td>`, `<td class="num">1.5</td>`,
		`id="recent-job-j-done"`, `<a href="/runners/r-1" title="runner r-1">build-01</a>`)
}
