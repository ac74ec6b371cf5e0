package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// scheduleHub fakes the schedule, calendar and package routes of the Hub.
type scheduleHub struct {
	mu       sync.Mutex
	requests []string // "METHOD path?query" of each request
	spec     runners.ScheduleSpec
	calSpec  runners.CalendarSpec
	keys     []string
	outcome  string
	noPkg    bool // GET /api/v1/packages/hello answers 404
	existing runners.Schedule
	fires    []runners.ScheduleFire
}

func newScheduleHub() *scheduleHub {
	runner := "run-7"
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := &scheduleHub{outcome: runners.FireJobCreated, existing: runners.Schedule{
		ID: "sch-1", Name: "nightly", Package: "hello", Version: "1.2.0", Environment: runners.EnvProduction,
		RunnerID: &runner, Labels: []string{"linux"}, Parameters: json.RawMessage(`{"who":"ops","count":3}`),
		MaxAttempts: 2, TimeoutSeconds: 600, Cron: "30 2 * * *", TimeZone: "America/New_York", StartAt: &start,
		CalendarIDs: []string{"cal-us"}, Concurrency: runners.ConcurrencyQueue, Misfire: runners.MisfireSkip,
		State: runners.ScheduleActive, CreatedBy: "dev@example.com", CreatedAt: time0, UpdatedAt: time0,
	}}
	for i, o := range []string{runners.FireJobCreated, runners.FireSkippedCalendar, runners.FireMissed, runners.FireJobCreated} {
		f := runners.ScheduleFire{ScheduleID: "sch-1", ScheduleName: "nightly", Kind: runners.FireScheduled, Outcome: o,
			FireTime: time.Date(2026, 3, 10-i, 6, 30, 0, 0, time.UTC)}
		if o == runners.FireJobCreated {
			job, lag := "job-"+string(rune('a'+i)), 0.25
			f.JobID, f.LagSeconds = &job, &lag
		}
		if o == runners.FireSkippedCalendar {
			f.Reason = "2026-03-09 is in calendar us-holidays"
		}
		h.fires = append(h.fires, f)
	}
	return h
}

func (h *scheduleHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.requests = append(h.requests, r.Method+" "+r.URL.RequestURI())
	if r.Header.Get("Authorization") != "Bearer tok-123" {
		apiError(w, 401, "unauthenticated", "no token")
		return
	}
	decode := func(v any) bool {
		h.spec, h.calSpec = runners.ScheduleSpec{}, runners.CalendarSpec{} // what this request sent, only
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			apiError(w, 400, "invalid_argument", err.Error())
			return false
		}
		return true
	}
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	q := r.URL.Query()
	switch key := r.Method + " " + r.URL.Path; key {
	case "GET /api/v1/packages/hello":
		if h.noPkg {
			apiError(w, 404, "not_found", "no package hello")
			return
		}
		reply(200, runners.PackageVersions{Items: []runners.Package{
			{Name: "hello", Version: "2.0.0", Parameters: []runners.Parameter{
				{Name: "count", Type: runners.ParamInteger}, {Name: "verbose", Type: runners.ParamBoolean},
				{Name: "ratio", Type: runners.ParamNumber}, {Name: "who", Type: runners.ParamString}}},
			{Name: "hello", Version: "1.0.0"}, // declares nothing
		}})
	case "GET /api/v1/calendars": // two pages
		if q.Get("cursor") == "" {
			reply(200, runners.ListCalendarsResponse{Items: []runners.Calendar{{ID: "cal-de", Name: "de-holidays", TimeZone: "Europe/Berlin",
				Dates: []string{"2026-12-25"}}}, NextCursor: "c2"})
			return
		}
		reply(200, runners.ListCalendarsResponse{Items: []runners.Calendar{{ID: "cal-us", Name: "us-holidays", TimeZone: "America/New_York",
			Dates: []string{"2026-07-03", "2026-12-25"}}}})
	case "POST /api/v1/schedules":
		if !decode(&h.spec) {
			return
		}
		if h.spec.Name == "taken" {
			apiError(w, 409, "conflict", `a schedule named "taken" exists`)
			return
		}
		reply(201, h.scheduleOf("sch-2", h.spec))
	case "GET /api/v1/schedules/sch-1":
		reply(200, h.existing)
	case "PUT /api/v1/schedules/sch-1":
		if !decode(&h.spec) {
			return
		}
		reply(200, h.scheduleOf("sch-1", h.spec))
	case "GET /api/v1/schedules":
		reply(200, runners.ListSchedulesResponse{Items: []runners.Schedule{h.existing}})
	case "GET /api/v1/schedules/sch-1/next":
		skip := "cal-us"
		reply(200, runners.NextFires{TimeZone: "America/New_York", Items: []runners.NextFire{
			{At: time.Date(2026, 3, 8, 7, 0, 0, 0, time.UTC), Local: "2026-03-08T03:00:00-04:00"},
			{At: time.Date(2026, 3, 9, 6, 30, 0, 0, time.UTC), Local: "2026-03-09T02:30:00-04:00", SkippedByCalendar: &skip},
		}})
	case "GET /api/v1/schedules/sch-1/fires", "GET /api/v1/schedule-fires":
		reply(200, runners.ListFiresResponse{Items: h.fires})
	case "POST /api/v1/schedules/sch-1/pause":
		s := h.existing
		s.State = runners.SchedulePaused
		reply(200, s)
	case "POST /api/v1/schedules/sch-1/run":
		h.keys = append(h.keys, r.Header.Get(runners.HeaderIdempotencyKey))
		if len(h.keys) == 1 {
			apiError(w, 503, "unavailable", "restarting")
			return
		}
		f := runners.ScheduleFire{ScheduleID: "sch-1", Kind: runners.FireManual, Outcome: h.outcome}
		if h.outcome == runners.FireJobCreated {
			job := "job-9"
			f.JobID = &job
		} else {
			f.Reason = "package hello 1.2.0 is no longer published"
		}
		reply(201, f)
	case "DELETE /api/v1/schedules/sch-1":
		w.WriteHeader(204)
	case "GET /api/v1/calendars/us-holidays": // a name, not an id
		apiError(w, 404, "not_found", "no calendar us-holidays")
	case "GET /api/v1/calendars/cal-us":
		reply(200, runners.Calendar{ID: "cal-us", Name: "us-holidays", TimeZone: "America/New_York", Dates: []string{"2026-07-03", "2026-12-25"}})
	case "POST /api/v1/calendars", "PUT /api/v1/calendars/cal-us":
		if !decode(&h.calSpec) {
			return
		}
		reply(200, runners.Calendar{ID: "cal-us", Name: h.calSpec.Name, TimeZone: h.calSpec.TimeZone, Dates: h.calSpec.Dates})
	case "DELETE /api/v1/calendars/cal-us":
		apiError(w, 409, "conflict", "calendar us-holidays is used by schedules: nightly")
	default:
		apiError(w, 404, "not_found", "no route "+key)
	}
}

func (h *scheduleHub) scheduleOf(id string, spec runners.ScheduleSpec) runners.Schedule {
	s := runners.Schedule{ID: id, Name: spec.Name, Package: spec.Package, Version: spec.Version, Environment: spec.Environment,
		Labels: spec.Labels, Parameters: spec.Parameters, MaxAttempts: spec.MaxAttempts, TimeoutSeconds: spec.TimeoutSeconds,
		Cron: spec.Cron, IntervalSeconds: spec.IntervalSeconds, TimeZone: spec.TimeZone, CalendarIDs: spec.CalendarIDs,
		Concurrency: spec.Concurrency, Misfire: spec.Misfire, State: runners.ScheduleActive, CreatedAt: time0, UpdatedAt: time0}
	if spec.RunnerID != "" {
		s.RunnerID = &spec.RunnerID
	}
	return s
}

// runCLI runs exekractl args against hub, returning its output and error.
func runCLI(t *testing.T, hub *fakeHub, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), append(args, hub.flags()...), &out)
	return out.String(), err
}

func TestScheduleCreateBuildsTheSpec(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	pf := writeFile(t, `{"who": "file", "extra": {"a": 1}}`)
	out, err := runCLI(t, hub, "schedule", "create", "--name", "nightly", "--package", "hello", "--environment", "production",
		"--cron", "30 2 * * *", "--time-zone", "America/New_York", "--label", "linux", "--label", "gpu",
		"--params-file", pf, "--param", "count=7", "--param", "verbose=true", "--param", "ratio=0.5", "--param", "who=cli", "--param", "undeclared=9",
		"--calendar", "us-holidays", "--calendar", "cal-de", "--calendar", "cal-us", "--start", "2026-03-01T00:00:00-05:00",
		"--concurrency", "queue", "--misfire", "skip", "--max-attempts", "3", "--timeout", "90m", "--paused")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s := h.spec
	if s.Name != "nightly" || s.Package != "hello" || s.Version != "" || s.Environment != runners.EnvProduction ||
		s.Cron != "30 2 * * *" || s.IntervalSeconds != 0 || s.TimeZone != "America/New_York" ||
		s.Concurrency != "queue" || s.Misfire != "skip" || s.MaxAttempts != 3 || s.TimeoutSeconds != 5400 || !s.Paused {
		t.Errorf("spec %+v", s)
	}
	if strings.Join(s.Labels, ",") != "linux,gpu" {
		t.Errorf("labels %v", s.Labels)
	}
	// Names resolve to ids across the calendar list's pages; a repeat is kept once.
	if strings.Join(s.CalendarIDs, ",") != "cal-us,cal-de" {
		t.Errorf("calendar ids %v", s.CalendarIDs)
	}
	if s.StartAt == nil || !s.StartAt.Equal(time.Date(2026, 3, 1, 5, 0, 0, 0, time.UTC)) || s.EndAt != nil {
		t.Errorf("start %v end %v", s.StartAt, s.EndAt)
	}
	// Declared types are kept (latest version declares them); an undeclared name goes as a string.
	var params map[string]any
	if err := json.Unmarshal(s.Parameters, &params); err != nil {
		t.Fatal(err)
	}
	if params["count"] != float64(7) || params["verbose"] != true || params["ratio"] != 0.5 || params["who"] != "cli" ||
		params["undeclared"] != "9" || params["extra"] == nil {
		t.Errorf("params %v", params)
	}
	if !strings.Contains(out, "id:") || !strings.Contains(out, "sch-2") || !strings.Contains(out, "cron:") {
		t.Errorf("output:\n%s", out)
	}
}

func TestScheduleCreateEveryAndVersion(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	// Version 1.0.0 declares nothing: --param values go as strings.
	if _, err := runCLI(t, hub, "schedule", "create", "--name", "poll", "--package", "hello", "--version", "1.0.0",
		"--environment", "Staging", "--every", "1h30m", "--param", "count=7", "--json"); err != nil {
		t.Fatal(err)
	}
	if h.spec.IntervalSeconds != 5400 || h.spec.Cron != "" || h.spec.Version != "1.0.0" || string(h.spec.Parameters) != `{"count":"7"}` {
		t.Errorf("spec %+v params %s", h.spec, h.spec.Parameters)
	}
	// A package the CLI cannot read: strings, and the Hub judges.
	h.noPkg = true
	if _, err := runCLI(t, hub, "schedule", "create", "--name", "poll", "--package", "hello", "--environment", "Staging",
		"--every", "300", "--param", "count=7"); err != nil {
		t.Fatal(err)
	}
	if h.spec.IntervalSeconds != 300 || string(h.spec.Parameters) != `{"count":"7"}` {
		t.Errorf("spec %+v params %s", h.spec, h.spec.Parameters)
	}
}

func TestScheduleCreateRefusesBadFlags(t *testing.T) {
	base := []string{"schedule", "create", "--name", "n", "--package", "hello", "--environment", "Staging"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"neither cron nor every", nil, "exactly one of --cron and --every"},
		{"both", []string{"--cron", "@daily", "--every", "1h"}, "not both"},
		{"no name", []string{"--name", "", "--cron", "@daily"}, "--name required"},
		{"bad environment", []string{"--environment", "qa", "--cron", "@daily"}, "Development, Staging, Production"},
		{"bad every", []string{"--every", "soon"}, "neither a duration"},
		{"fractional every", []string{"--every", "1500ms"}, "whole number of seconds"},
		{"zero every", []string{"--every", "0"}, "positive"},
		{"bad concurrency", []string{"--cron", "@daily", "--concurrency", "parallel"}, "skip, queue, allow"},
		{"bad misfire", []string{"--cron", "@daily", "--misfire", "all"}, "fire_once, skip"},
		{"bad start", []string{"--cron", "@daily", "--start", "2026-03-01"}, "RFC 3339"},
		{"end before start", []string{"--cron", "@daily", "--start", "2026-03-02T00:00:00Z", "--end", "2026-03-01T00:00:00Z"}, "--end must not be before --start"},
		{"param without =", []string{"--cron", "@daily", "--param", "who"}, "name=value"},
		{"params file not an object", []string{"--cron", "@daily", "--params-file", writeFile(t, "[1]")}, "JSON object"},
		{"spec file unknown field", []string{"--from-file", writeFile(t, `{"nmae": "x"}`)}, "not a schedule spec"},
		{"stray argument", []string{"--cron", "@daily", "extra"}, "want 0 argument"},
		{"unknown flag", []string{"--cron", "@daily", "--colour", "red"}, "flag provided but not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newScheduleHub()
			hub := newFakeHub(t, h)
			_, err := runCLI(t, hub, append(slicesClone(base), tc.args...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if len(h.requests) != 0 {
				t.Errorf("the Hub was asked: %v", h.requests)
			}
		})
	}
	t.Run("a typed parameter that does not parse", func(t *testing.T) {
		h := newScheduleHub()
		hub := newFakeHub(t, h)
		_, err := runCLI(t, hub, append(slicesClone(base), "--cron", "@daily", "--param", "count=many")...)
		if err == nil || !strings.Contains(err.Error(), `--param count="many": the package declares count as an integer`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("an unknown calendar", func(t *testing.T) {
		hub := newFakeHub(t, newScheduleHub())
		_, err := runCLI(t, hub, append(slicesClone(base), "--cron", "@daily", "--calendar", "fr-holidays")...)
		if err == nil || !strings.Contains(err.Error(), `no calendar has the id or name "fr-holidays"`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("the Hub's refusal is shown with its code", func(t *testing.T) {
		hub := newFakeHub(t, newScheduleHub())
		_, err := runCLI(t, hub, "schedule", "create", "--name", "taken", "--package", "hello", "--environment", "Staging", "--cron", "@daily")
		if err == nil || err.Error() != `create schedule taken: conflict (HTTP 409): a schedule named "taken" exists` {
			t.Fatalf("error %v", err)
		}
	})
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

func TestScheduleCreateFromFile(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	f := writeFile(t, `{"name":"from-file","package":"hello","environment":"Development","interval_seconds":60,"labels":["a"]}`)
	if _, err := runCLI(t, hub, "schedule", "create", "--from-file", f, "--name", "override"); err != nil {
		t.Fatal(err)
	}
	if h.spec.Name != "override" || h.spec.IntervalSeconds != 60 || h.spec.Environment != "Development" || strings.Join(h.spec.Labels, ",") != "a" {
		t.Errorf("spec %+v", h.spec)
	}
}

func TestScheduleUpdateKeepsWhatIsNotGiven(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	// --every replaces the cron; the rest of the schedule is sent back as it was.
	if _, err := runCLI(t, hub, "schedule", "update", "sch-1", "--every", "15m", "--param", "count=4"); err != nil {
		t.Fatal(err)
	}
	s := h.spec
	if s.Cron != "" || s.IntervalSeconds != 900 || s.Name != "nightly" || s.Package != "hello" || s.Version != "1.2.0" ||
		s.RunnerID != "run-7" || strings.Join(s.Labels, ",") != "linux" || strings.Join(s.CalendarIDs, ",") != "cal-us" ||
		s.Concurrency != "queue" || s.Misfire != "skip" || s.MaxAttempts != 2 || s.TimeoutSeconds != 600 ||
		s.TimeZone != "America/New_York" || s.StartAt == nil || s.Paused {
		t.Errorf("spec %+v", s)
	}
	// Version 1.2.0 is not among the package's versions: a string, merged into the schedule's parameters.
	var params map[string]any
	json.Unmarshal(s.Parameters, &params)
	if params["count"] != "4" || params["who"] != "ops" {
		t.Errorf("params %s", s.Parameters)
	}
	if got := h.requests; len(got) < 2 || got[0] != "GET /api/v1/schedules/sch-1" || got[len(got)-1] != "PUT /api/v1/schedules/sch-1" {
		t.Errorf("requests %v", got)
	}

	// Empty values clear lists and optional fields.
	if _, err := runCLI(t, hub, "schedule", "update", "sch-1", "--label", "", "--calendar", "", "--start", "", "--runner", "", "--paused"); err != nil {
		t.Fatal(err)
	}
	if h.spec.Labels != nil || h.spec.CalendarIDs != nil || h.spec.StartAt != nil || h.spec.RunnerID != "" || !h.spec.Paused || h.spec.Cron != "30 2 * * *" {
		t.Errorf("cleared spec %+v", h.spec)
	}

	if _, err := runCLI(t, hub, "schedule", "update", "sch-1"); err == nil || !strings.Contains(err.Error(), "changes nothing") {
		t.Errorf("an update without flags: %v", err)
	}
	if _, err := runCLI(t, hub, "schedule", "update", "sch-404", "--cron", "@daily"); err == nil ||
		!strings.Contains(err.Error(), "read schedule sch-404: not_found (HTTP 404)") {
		t.Errorf("unknown schedule: %v", err)
	}
}

func TestScheduleShowListNext(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	out, err := runCLI(t, hub, "schedule", "show", "sch-1")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"name:", "nightly", "cron:", "30 2 * * *", "America/New_York", "calendars:", "cal-us",
		"Next fire times (America/New_York and UTC):", "2026-03-08T03:00:00-04:00  2026-03-08T07:00:00Z  -",
		"2026-03-09T02:30:00-04:00  2026-03-09T06:30:00Z  cal-us",
		"Last fires:", "2026-03-10T06:30:00Z  scheduled  job_created", "job-a", "0.2s", "skipped_calendar", "2026-03-09 is in calendar us-holidays"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, hub, "schedule", "show", "sch-1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var d scheduleDetail
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.Schedule.ID != "sch-1" || len(d.Next.Items) != 2 || len(d.Fires) != 4 {
		t.Errorf("show --json: %v %+v", err, d)
	}

	out, err = runCLI(t, hub, "schedule", "list", "--state", "active", "--environment", "production", "--package", "hello", "--calendar", "us-holidays")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "ID") || !strings.Contains(out, `cron "30 2 * * *" America/New_York`) || !strings.Contains(out, "hello@1.2.0") {
		t.Errorf("list:\n%s", out)
	}
	last := h.requests[len(h.requests)-1]
	u, _ := url.Parse(strings.TrimPrefix(last, "GET "))
	if q := u.Query(); q.Get("state") != "active" || q.Get("environment") != "Production" || q.Get("package") != "hello" || q.Get("calendar_id") != "cal-us" || q.Get("limit") != "500" {
		t.Errorf("list query %s", last)
	}
	if _, err := runCLI(t, hub, "schedule", "list", "--state", "sleeping"); err == nil || !strings.Contains(err.Error(), "active, paused, ended") {
		t.Errorf("bad state: %v", err)
	}

	out, err = runCLI(t, hub, "schedule", "next", "sch-1", "--count", "2")
	if err != nil || !strings.Contains(out, "time zone America/New_York") || !strings.Contains(out, "2026-03-08T07:00:00Z") {
		t.Errorf("next: %v\n%s", err, out)
	}
	if !strings.HasSuffix(h.requests[len(h.requests)-1], "/next?count=2") {
		t.Errorf("next request %s", h.requests[len(h.requests)-1])
	}
	if _, err := runCLI(t, hub, "schedule", "next", "sch-1", "--count", "101"); err == nil {
		t.Error("count 101 accepted")
	}
	if _, err := runCLI(t, hub, "schedule", "show"); err == nil || !strings.Contains(err.Error(), "want 1 argument") {
		t.Errorf("show without id: %v", err)
	}
}

func TestScheduleFires(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	// One schedule's route takes no time bounds: they are applied here.
	out, err := runCLI(t, hub, "schedule", "fires", "sch-1", "--since", "2026-03-08T00:00:00Z", "--until", "2026-03-09T23:00:00Z", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var fires []runners.ScheduleFire
	if err := json.Unmarshal([]byte(out), &fires); err != nil {
		t.Fatal(err)
	}
	if len(fires) != 2 || fires[0].Outcome != runners.FireSkippedCalendar || fires[1].Outcome != runners.FireMissed {
		t.Errorf("fires %+v", fires)
	}
	// Every schedule's: the bounds and outcome go to the Hub, the limit bounds the page.
	out, err = runCLI(t, hub, "schedule", "fires", "--outcome", "missed", "--since", "2026-03-01T00:00:00+01:00", "--limit", "3")
	if err != nil {
		t.Fatal(err)
	}
	last := h.requests[len(h.requests)-1]
	u, _ := url.Parse(strings.TrimPrefix(last, "GET "))
	if q := u.Query(); u.Path != runners.PathFires || q.Get("outcome") != "missed" || q.Get("since") != "2026-02-28T23:00:00Z" || q.Get("limit") != "3" {
		t.Errorf("request %s", last)
	}
	if !strings.Contains(out, "SCHEDULE") || !strings.Contains(out, "nightly") {
		t.Errorf("fires table:\n%s", out)
	}
	for _, args := range [][]string{
		{"--outcome", "lost"}, {"--until", "yesterday"}, {"--since", "2026-03-02T00:00:00Z", "--until", "2026-03-01T00:00:00Z"}, {"a", "b"},
	} {
		if _, err := runCLI(t, hub, append([]string{"schedule", "fires"}, args...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestScheduleRunPauseDelete(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	out, err := runCLI(t, hub, "schedule", "run", "sch-1")
	if err != nil {
		t.Fatal(err)
	}
	// The first try was refused (503) and sent again under the same key.
	if out != "job_created job-9\n" || len(h.keys) != 2 || len(h.keys[0]) != 32 || h.keys[0] != h.keys[1] {
		t.Errorf("output %q keys %q", out, h.keys)
	}
	h.keys, h.outcome = []string{"refused"}, runners.FireFailed
	out, err = runCLI(t, hub, "schedule", "run", "sch-1")
	if err == nil || !strings.Contains(err.Error(), "no job was created: package hello 1.2.0 is no longer published") ||
		!strings.HasPrefix(out, "failed: ") {
		t.Errorf("failed fire: %v, %q", err, out)
	}

	out, err = runCLI(t, hub, "schedule", "pause", "sch-1")
	if err != nil || !strings.Contains(out, "schedule sch-1 (nightly) is paused") {
		t.Errorf("pause: %v %q", err, out)
	}
	out, err = runCLI(t, hub, "schedule", "delete", "sch-1")
	if err != nil || !strings.Contains(out, "deleted schedule sch-1") {
		t.Errorf("delete: %v %q", err, out)
	}
	// resume is not served by the fake: the Hub's error comes back whole.
	_, err = runCLI(t, hub, "schedule", "resume", "sch-1")
	if err == nil || !strings.Contains(err.Error(), "resume schedule sch-1: not_found (HTTP 404): no route POST /api/v1/schedules/sch-1/resume") {
		t.Errorf("resume: %v", err)
	}
	if _, err := runCLI(t, hub, "schedule", "frobnicate"); err == nil || !strings.Contains(err.Error(), "unknown schedule subcommand") {
		t.Errorf("unknown subcommand: %v", err)
	}
	var help bytes.Buffer
	if err := run(context.Background(), []string{"schedule", "create", "-h"}, &help); err != nil || !strings.Contains(help.String(), "-misfire") ||
		!strings.Contains(help.String(), "otherwise a string") {
		t.Errorf("help: %v\n%s", err, help.String())
	}
	// A token that is refused.
	bad := newFakeHub(t, h)
	bad.tokenFile = writeFile(t, "wrong")
	if _, err := runCLI(t, bad, "schedule", "list"); err == nil || !strings.Contains(err.Error(), "unauthenticated (HTTP 401)") {
		t.Errorf("bad token: %v", err)
	}
}

func TestScheduleJSONListIsAnArray(t *testing.T) {
	hub := newFakeHub(t, newScheduleHub())
	out, err := runCLI(t, hub, "schedule", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var items []runners.Schedule
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&items); err != nil || len(items) != 1 || items[0].ID != "sch-1" {
		t.Errorf("list --json: %v %q", err, out)
	}
}
