package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleTour walks the console as an operator would, in headless
// Chromium, against a pilot with a real agent: the dashboard with its charts,
// the jobs list, a running job whose log grows on screen without a reload,
// its runner's page and back, cancel, the audit event linked to the job, and
// the start form with declared parameters refusing a bad value by name.
// Every page is checked with axe-core (no serious or critical violation),
// for horizontal page scrolling at 390 px, and photographed at 1440 and
// 390 px into $EXEKRA_SCREENSHOTS (a temporary folder when unset; printed).
func TestConsoleTour(t *testing.T) {
	axeJS := axeSource(t)
	shots := os.Getenv("EXEKRA_SCREENSHOTS")
	if shots == "" {
		var err error
		if shots, err = os.MkdirTemp("", "exekra-console-screens-"); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(shots, 0o755)
	t.Logf("screenshots: %s", shots)
	fmt.Println("console screenshots written to", shots)

	v := newVendor(t)
	h, adminTok := licensedHub(t, v)
	id, secret := registerRunner(t, h, adminTok, "tour-runner")
	startAgent(t, h, id, secret)
	waitFor(t, 30*time.Second, "the agent online", func() bool { return runnerStatus(t, h, adminTok, id) == "online" })

	if code, raw := publish(t, h, adminTok, packageZip(t, "quick", "1.0.0", "echo quick done\n")); code != http.StatusCreated {
		t.Fatalf("publish quick = %d %s", code, raw)
	}
	slow := "i=0\nwhile [ $i -lt 600 ]; do i=$((i+1)); echo \"line $i\"; sleep 0.5; done\n"
	if code, raw := publish(t, h, adminTok, packageZip(t, "slow", "1.0.0", slow)); code != http.StatusCreated {
		t.Fatalf("publish slow = %d %s", code, raw)
	}
	typed := typedPackage(t)
	code, raw := publish(t, h, adminTok, typed)
	declared := false
	if code == http.StatusCreated {
		p := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/packages/typed", nil)
		items, _ := p["items"].([]any)
		var ps []any
		if len(items) > 0 {
			ps, _ = items[0].(map[string]any)["parameters"].([]any)
		}
		declared = len(ps) == 4
	}
	if !declared {
		t.Logf("declared parameters have not landed in the package API (publish %d %s): the typed form is not walked", code, raw)
	}

	quick := startJob(t, h, adminTok, "quick", nil)
	waitJob(t, h, adminTok, quick, 60*time.Second)
	jid := startJob(t, h, adminTok, "slow", nil)
	waitFor(t, 60*time.Second, "the slow job running", func() bool {
		return h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+jid, nil)["status"] == "running"
	})

	b := newBrowserFor(t, 6*time.Minute)
	tour := &tour{b: b, axe: axeJS, dir: shots, impacts: map[string]int{}}
	b.open(h.gateway + "/login")
	b.wait("#login-email")
	tour.check("login")
	signIn(b, strings.ToLower(adminEmail))

	// the dashboard: the charts have bars
	b.wait("#chart-finished")
	if !b.eval(`document.querySelector('#chart-finished-figure').dataset.empty === 'false' && document.querySelectorAll('#chart-finished rect.bar').length > 0`) {
		t.Fatal("the jobs-finished chart is empty")
	}
	if !b.eval(`document.querySelectorAll('#chart-waiting, #chart-online, #chart-pickup').length === 3 && document.querySelectorAll('svg.chart[role=img] title').length >= 4`) {
		t.Fatal("the dashboard lacks its charts")
	}
	tour.check("dashboard")

	// the jobs list: the running job links to its page
	b.click("#nav-jobs")
	b.wait("#job-" + jid)
	if !b.eval(`document.querySelector('#jobs-table').dataset.live === 'true'`) {
		t.Fatal("the jobs table does not refresh itself while a job runs")
	}
	if r := b.text("#job-" + jid + " .job-runner"); r != "tour-runner" {
		t.Fatalf("the job's runner cell shows %q", r)
	}
	tour.check("jobs")
	dur := b.text("#job-" + jid + " .job-duration")
	waitFor(t, 15*time.Second, "the jobs table to refresh itself and the duration to count", func() bool {
		return b.eval(`!!document.querySelector('#jobs-table').dataset.refreshed`) && b.text("#job-"+jid+" .job-duration") != dur
	})

	// the running job: its log grows without a reload
	b.click("#job-" + jid + " .job-id a")
	b.wait("#job-logs")
	b.eval(`window.__tourMark = 1; true`)
	before := b.count("#job-logs .log-line")
	waitFor(t, 30*time.Second, "the log to grow on screen", func() bool { return b.count("#job-logs .log-line") >= before+4 })
	if !b.eval(`window.__tourMark === 1`) {
		t.Fatal("the job page reloaded to show new log lines")
	}
	if b.eval(`(function(){var l=document.querySelectorAll('#job-logs .log-line');var a=l[0].getBoundingClientRect(),c=l[1].getBoundingClientRect();return c.top-a.bottom>4})()`) {
		t.Fatal("the log shows a blank line between lines")
	}
	if !b.exists("#job-history tr[data-outcome=running]") {
		t.Fatal("the running job's page lists no running attempt")
	}
	if r := b.text("#job-history tbody td:nth-child(2)"); r != "tour-runner" {
		t.Fatalf("the attempt's runner shows %q", r)
	}
	tour.check("job-running")

	// its runner's page and back
	b.click("#job-runner a")
	b.wait("#runner")
	b.wait("#runner-job-" + jid)
	if b.exists("#runner-charts-note") {
		t.Logf("runner page: %s", b.text("#runner-charts-note"))
	} else if !b.exists("#chart-cpu") || !b.exists("#chart-memory") || !b.exists("#chart-disk") {
		t.Fatal("the runner page lacks its metrics charts")
	}
	tour.check("runner")
	b.click("#runner-job-" + jid + " a")
	b.wait("#job-cancel")

	// cancel, then the audit event of it links back to the job
	b.click("#job-cancel")
	b.wait("#flash")
	waitJob(t, h, adminTok, jid, 60*time.Second)
	b.open(h.gateway + "/jobs/" + jid)
	b.wait("#job-audit")
	tour.check("job-canceled")
	b.click("#job-audit")
	b.wait("#audit-table")
	sel := `#audit-table a[href="/jobs/` + jid + `"]`
	waitFor(t, 20*time.Second, "the cancel event in the audit log", func() bool {
		if b.eval(`Array.prototype.some.call(document.querySelectorAll('#audit-table tr[data-action]'), function (tr) { return /cancel/.test(tr.dataset.action) && tr.querySelector('a[href="/jobs/` + jid + `"]') })`) {
			return true
		}
		b.open(h.gateway + "/audit?target=" + jid)
		b.wait("#audit-table")
		return false
	})
	tour.check("audit")
	b.click(sel)
	b.wait("#job-rerun")

	// run it again with the same parameters: a new job that says what it re-runs
	b.click("#job-rerun")
	b.wait("#job-rerun-of")
	if href := b.attr("#job-rerun-of", "href"); href != "/jobs/"+jid {
		t.Fatalf("the re-run links to %q", href)
	}
	rerun := b.attr("#job", "data-id")
	h.as(adminTok).raw("POST", "/api/v1/jobs/"+rerun+"/cancel", nil) // the slow package: not left running

	// the start form
	b.open(h.gateway + "/jobs/new?package=typed")
	b.wait("#jobs-start-form")
	if declared {
		for _, f := range []string{"who", "count", "ratio", "loud"} {
			if !b.exists("#jobs-start-param-"+f) || !b.exists(`label[for="jobs-start-param-`+f+`"]`) {
				t.Fatalf("the start form lacks a labelled field for %s", f)
			}
		}
		tour.check("start-form")
		b.set("#jobs-start-param-who", "world")
		b.set("#jobs-start-param-count", "many")
		b.set("#jobs-start-param-ratio", "0.5")
		b.set("#jobs-start-param-loud", "true")
		b.click("#jobs-start-submit")
		b.wait("#error")
		if e := b.text("#error"); !strings.Contains(e, "count") {
			t.Fatalf("a bad integer is refused with %q", e)
		}
		if !b.eval(`document.querySelector('#jobs-start-param-count').getAttribute('aria-invalid') === 'true' && document.querySelector('#jobs-start-param-ratio').value === '0.5'`) {
			t.Fatal("the refused form does not mark count invalid or lost the other values")
		}
		tour.check("start-form-refused")
		// the runners service refuses a missing required parameter by name too
		b.eval(`document.getElementById('jobs-start-param-who').value = ''; true`) // SetValue refuses ""
		b.set("#jobs-start-param-count", "7")
		b.eval(`document.getElementById('error').remove(); true`) // the next #error is the new page's
		b.click("#jobs-start-submit")
		b.wait("#error")
		if e := b.text("#error"); !strings.Contains(e, "who") {
			t.Fatalf("a missing required parameter is refused with %q", e)
		}
		if !b.eval(`document.querySelector('#jobs-start-param-who').getAttribute('aria-invalid') === 'true'`) {
			t.Fatal("the parameter the service refused is not marked invalid")
		}
		b.set("#jobs-start-param-who", "world")
		b.click("#jobs-start-submit")
		b.wait("#job")
		j := h.as(adminTok).must(http.StatusOK, "GET", "/api/v1/jobs/"+b.attr("#job", "data-id"), nil)
		params, _ := json.Marshal(j["parameters"])
		if !strings.Contains(string(params), `"count":7`) || !strings.Contains(string(params), `"loud":true`) ||
			!strings.Contains(string(params), `"ratio":0.5`) || !strings.Contains(string(params), `"who":"world"`) {
			t.Fatalf("the started job's parameters: %s", params)
		}
	} else {
		tour.check("start-form")
	}

	// schedules: made through the form, run now, and every page of them
	cal := h.as(adminTok).must(http.StatusCreated, "POST", "/api/v1/calendars",
		map[string]any{"name": "tour-holidays", "dates": []string{"2026-12-25", "2027-01-01"}})
	b.open(h.gateway + "/schedules/new?package=quick")
	b.wait("#schedule-form")
	tour.check("schedule-form")
	b.typeIn("#schedule-name", "tour-every-minute")
	b.set("#schedule-cron", "0 * * * * *")
	b.set("#schedule-time-zone", "Europe/Berlin")
	b.click("#schedule-submit")
	b.wait("#schedule-run")
	sid := b.attr("#schedule", "data-id")
	if !b.exists("#schedule-next-fire") {
		t.Fatal("the schedule page shows no coming fire time")
	}
	tour.check("schedule")
	b.click("#schedule-run")
	b.wait("#job")
	if href := b.attr("#job-schedule", "href"); href != "/schedules/"+sid {
		t.Fatalf("the run-now job links to its schedule as %q", href)
	}
	// The page reloads itself once its job ends: check it after that.
	waitFor(t, 60*time.Second, "the run-now job's page showing it finished", func() bool {
		// the reload may be under way: an evaluation that fails is a "not yet"
		done, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('#job') !== null && document.querySelector('#job').dataset.finished === 'true'`))
		return err == nil && done
	})
	tour.check("schedule-run-job")
	h.as(adminTok).must(http.StatusOK, "POST", "/api/v1/schedules/"+sid+"/pause", nil)
	for _, p := range []string{"/schedules", "/schedules/" + sid + "/edit", "/schedules/" + sid + "/delete", "/calendars", "/calendars/new",
		"/calendars/" + cal["id"].(string), "/calendars/" + cal["id"].(string) + "/delete", "/jobs?schedule_id=" + sid} {
		b.open(h.gateway + p)
		b.wait("main h1")
		tour.check(strings.NewReplacer("/", "-", "?", "-", "=", "-", sid, "id", cal["id"].(string), "id").Replace(strings.Trim(p, "/")))
	}
	// assets: a credential with a global value set over the API, whose value
	// no page shows, and a text asset made through the list's form
	const tourPassword = "tour-password-never-shown"
	h.as(adminTok).must(http.StatusCreated, "POST", "/api/v1/assets",
		map[string]any{"name": "TOUR_LOGIN", "type": "credential", "description": "the tour's login"})
	h.as(adminTok).must(http.StatusOK, "PUT", "/api/v1/assets/TOUR_LOGIN/values/global",
		map[string]any{"value": map[string]string{"username": "tour", "password": tourPassword}})
	b.open(h.gateway + "/assets")
	b.wait("#asset-create-form")
	b.typeIn("#asset-create-name", "TOUR_URL")
	b.set("#asset-create-type", "text")
	b.click("#asset-create-submit")
	b.wait("#asset")
	if !b.eval(`location.pathname === '/assets/TOUR_URL' && document.querySelector('#asset').dataset.type === 'text'`) {
		t.Fatalf("the create form landed on %q", b.attr("#asset", "data-name"))
	}
	tour.check("asset-created")
	for _, p := range []string{"/assets", "/assets/TOUR_LOGIN", "/assets/TOUR_LOGIN/delete"} {
		b.open(h.gateway + p)
		b.wait("main h1")
		if b.eval(`document.documentElement.outerHTML.indexOf('` + tourPassword + `') >= 0`) {
			t.Fatalf("the page %s shows the credential's password", p)
		}
		tour.check(strings.ReplaceAll(strings.Trim(p, "/"), "/", "-"))
	}
	if !b.exists("#asset-delete-submit") {
		t.Fatal("the asset delete confirmation has no delete button")
	}
	// API tokens: one made through the form is shown once, then listed by its prefix only
	b.open(h.gateway + "/tokens")
	b.wait("#tokens-create-form")
	b.typeIn("#tokens-create-name", "tour token")
	b.click("#tokens-create-submit")
	b.wait("#token-secret")
	if !b.eval(`document.querySelector('#token-secret').textContent.startsWith('exk_pat_')`) {
		t.Fatal("the new API token is not shown")
	}
	tour.check("tokens-created")
	b.open(h.gateway + "/tokens")
	b.wait("#tokens-table")
	if b.exists("#token-secret") {
		t.Fatal("the API token is shown again")
	}
	tour.check("tokens")
	if declared {
		b.open(h.gateway + "/schedules/new?package=typed")
		b.wait("#schedule-form")
		tour.check("schedule-form-typed")
	}

	for _, p := range []string{"/runners", "/packages", "/packages/slow", "/users", "/license", "/status"} {
		b.open(h.gateway + p)
		b.wait("main h1")
		tour.check(strings.ReplaceAll(strings.Trim(p, "/"), "/", "-"))
	}
	// the remaining pages: a runner registered through the console (its secret),
	// the confirmations, an error page and the setup pages as they stand now
	b.open(h.gateway + "/runners")
	b.wait("#runners-register-name")
	b.typeIn("#runners-register-name", "tour-second")
	b.click("#runners-register-submit")
	b.wait("#runner-secret")
	tour.check("runner-secret")
	b.open(h.gateway + "/users")
	b.wait("#users-table")
	userRow := b.attr(`#users-table tr[id^="user-"]`, "id")
	for _, p := range []string{"/runners/" + id + "/regenerate", "/runners/" + id + "/delete", "/" + strings.Replace(userRow, "user-", "users/", 1) + "/delete",
		"/jobs/no-such-job", "/activate", "/bootstrap"} {
		b.open(h.gateway + p)
		b.wait("main h1")
		tour.check(strings.NewReplacer("/", "-", id, "id").Replace(strings.Trim(p, "/")))
	}
	t.Logf("axe violations by impact over %d pages: %v", tour.pages, tour.impacts)
	fmt.Printf("axe violations by impact over %d pages: %v\n", tour.pages, tour.impacts)
	if tour.impacts["serious"]+tour.impacts["critical"] > 0 {
		t.Fatalf("axe found serious or critical violations (see above)")
	}
}

// tour checks and photographs each page it is asked to.
type tour struct {
	b       *browser
	axe     string
	dir     string
	pages   int
	impacts map[string]int
}

type axeViolation struct {
	ID      string   `json:"id"`
	Impact  string   `json:"impact"`
	Help    string   `json:"help"`
	Targets []string `json:"targets"`
}

// check runs axe-core on the page at 1440 and at 390 px, checks that it does
// not scroll sideways at 390 px, and writes screenshots at both widths.
func (tr *tour) check(name string) {
	b := tr.b
	b.t.Helper()
	tr.pages++
	for _, size := range [][2]int64{{1440, 900}, {390, 844}} {
		b.do("viewport", chromedp.EmulateViewport(size[0], size[1]))
		tr.axeRun(fmt.Sprintf("%s@%d", name, size[0]))
		if size[0] == 390 && !b.eval(`document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1`) {
			w, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
			b.t.Errorf("the %s page scrolls sideways at 390 px (%d px wide)", name, w)
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		os.WriteFile(filepath.Join(tr.dir, fmt.Sprintf("%02d-%s-%d.png", tr.pages, name, size[0])), png, 0o644)
	}
	b.do("viewport", chromedp.EmulateViewport(1440, 900))
}

// axeRun runs axe-core on the page as laid out now, counting violations by impact.
func (tr *tour) axeRun(name string) {
	b := tr.b
	b.t.Helper()
	time.Sleep(200 * time.Millisecond) // the resize handlers of app.js run
	// axe-core is injected into the page as it is now: a page that reloads
	// itself (a job page when its job ends) drops it, and the run is tried
	// again on the reloaded page.
	var res string
	for try := 1; ; try++ {
		var err error
		if _, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](tr.axe+";true")); err == nil {
			res, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`axe.run(document, {resultTypes: ["violations"]}).then(function (r) {
		return JSON.stringify(r.violations.map(function (v) { return {id: v.id, impact: v.impact, help: v.help,
			targets: v.nodes.slice(0, 5).map(function (n) { return n.target.join(" "); })}; }));
	})`, chromedp.EvalAwaitPromise))
		}
		if err == nil {
			break
		}
		if try == 3 {
			b.t.Fatalf("axe.run on %s: %v", name, err)
		}
		b.t.Logf("axe.run on %s: %v (the page reloaded); again", name, err)
		time.Sleep(500 * time.Millisecond)
	}
	var vs []axeViolation
	json.Unmarshal([]byte(res), &vs)
	for _, v := range vs {
		tr.impacts[v.Impact]++
		b.t.Logf("axe %s: %s (%s) %s at %v", name, v.Impact, v.ID, v.Help, v.Targets)
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("axe: %s page has a %s violation %s: %s at %v", name, v.Impact, v.ID, v.Help, v.Targets)
		}
	}
}

func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		b.t.Fatalf("browser: count %s: %v", sel, err)
	}
	return n
}

func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector(`+strconv.Quote(sel)+`).getAttribute(`+strconv.Quote(name)+`)`))
	if err != nil {
		b.t.Fatalf("browser: attribute %s of %s: %v", name, sel, err)
	}
	return s
}

// typedPackage declares a parameter of each type.
func typedPackage(t *testing.T) []byte {
	t.Helper()
	return zipOf(t, map[string]string{
		"exekra.json": `{"name":"typed","version":"1.0.0","entrypoint":["/bin/sh","run.sh"],"parameters":[
			{"name":"who","type":"string","required":true,"description":"whom to greet"},
			{"name":"count","type":"integer","default":3,"description":"how many times"},
			{"name":"ratio","type":"number"},
			{"name":"loud","type":"boolean","default":false}]}`,
		"run.sh": "cat\n",
	})
}

// axeSource is axe-core's axe.min.js: $EXEKRA_AXE_JS, else from npm
// (axe-core@4) installed into the user's cache folder, outside the repository.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("EXEKRA_AXE_JS")
	if path == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "exekra-e2e-axe")
		path = filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
		if _, err := os.Stat(path); err != nil {
			os.MkdirAll(dir, 0o755)
			cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "axe-core@4")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("npm install axe-core@4 (set EXEKRA_AXE_JS to an axe.min.js instead): %v\n%s", err, out)
			}
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}
