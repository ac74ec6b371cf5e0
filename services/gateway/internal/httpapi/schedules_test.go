package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// scheduleStub stands in for the runners service behind the schedule and
// calendar routes and records every request that reached it, by subject.
type scheduleStub struct {
	mu   sync.Mutex
	seen map[string][]any
}

func (st *scheduleStub) record(subject string, req any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.seen[subject] = append(st.seen[subject], req)
}

// last is the last request that reached subject, nil when none did.
func (st *scheduleStub) last(subject string) any {
	st.mu.Lock()
	defer st.mu.Unlock()
	if r := st.seen[subject]; len(r) > 0 {
		return r[len(r)-1]
	}
	return nil
}

func (st *scheduleStub) calls() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for _, r := range st.seen {
		n += len(r)
	}
	return n
}

// stubbed answers subject by recording the request and returning resp.
func stubbed[Req, Resp any](st *scheduleStub, subject string, resp func(Req) (Resp, error)) natsrpc.Endpoint {
	return natsrpc.Handle(subject, func(_ context.Context, req Req) (Resp, error) {
		st.record(subject, req)
		return resp(req)
	})
}

func sched(id string) runners.Schedule {
	return runners.Schedule{ID: id, Name: "nightly", Labels: []string{}, CalendarIDs: []string{}, State: runners.ScheduleActive}
}

func scheduleServer(t *testing.T, st *scheduleStub) *httptest.Server {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.DiscardHandler)
	job := "job-9"
	eps := []natsrpc.Endpoint{
		stubbed(st, runners.SubjectScheduleList, func(runners.ListSchedulesRequest) (runners.ListSchedulesResponse, error) {
			return runners.ListSchedulesResponse{Items: []runners.Schedule{sched("s-1")}}, nil
		}),
		stubbed(st, runners.SubjectScheduleCreate, func(spec runners.ScheduleSpec) (runners.Schedule, error) {
			if spec.Cron == "" && spec.IntervalSeconds == 0 {
				return runners.Schedule{}, errs.E(errs.InvalidArgument, "cron or interval_seconds is needed")
			}
			s := sched("s-new")
			s.Name = spec.Name
			return s, nil
		}),
		stubbed(st, runners.SubjectScheduleGet, func(r runners.ScheduleRequest) (runners.Schedule, error) {
			if r.ID == "missing" {
				return runners.Schedule{}, errs.E(errs.NotFound, "no such schedule")
			}
			return sched(r.ID), nil
		}),
		stubbed(st, runners.SubjectScheduleUpdate, func(r runners.UpdateScheduleRequest) (runners.Schedule, error) { return sched(r.ID), nil }),
		stubbed(st, runners.SubjectScheduleDelete, func(runners.ScheduleRequest) (runners.ScheduleDeleted, error) {
			return runners.ScheduleDeleted{}, nil
		}),
		stubbed(st, runners.SubjectSchedulePause, func(r runners.ScheduleRequest) (runners.Schedule, error) {
			s := sched(r.ID)
			s.State = runners.SchedulePaused
			return s, nil
		}),
		stubbed(st, runners.SubjectScheduleResume, func(r runners.ScheduleRequest) (runners.Schedule, error) { return sched(r.ID), nil }),
		stubbed(st, runners.SubjectScheduleRun, func(r runners.RunScheduleRequest) (runners.ScheduleFire, error) {
			return runners.ScheduleFire{ScheduleID: r.ID, Kind: runners.FireManual, Outcome: runners.FireJobCreated, JobID: &job}, nil
		}),
		stubbed(st, runners.SubjectScheduleNext, func(r runners.NextFiresRequest) (runners.NextFires, error) {
			return runners.NextFires{TimeZone: "UTC", Items: make([]runners.NextFire, r.Count)}, nil
		}),
		stubbed(st, runners.SubjectScheduleFires, func(runners.ListFiresRequest) (runners.ListFiresResponse, error) {
			return runners.ListFiresResponse{Items: []runners.ScheduleFire{}}, nil
		}),
		stubbed(st, runners.SubjectCalendarList, func(runners.ListCalendarsRequest) (runners.ListCalendarsResponse, error) {
			return runners.ListCalendarsResponse{Items: []runners.Calendar{}}, nil
		}),
		stubbed(st, runners.SubjectCalendarCreate, func(spec runners.CalendarSpec) (runners.Calendar, error) {
			return runners.Calendar{ID: "c-new", Name: spec.Name, Dates: spec.Dates}, nil
		}),
		stubbed(st, runners.SubjectCalendarGet, func(r runners.CalendarRequest) (runners.Calendar, error) {
			return runners.Calendar{ID: r.ID, Dates: []string{}}, nil
		}),
		stubbed(st, runners.SubjectCalendarUpdate, func(r runners.UpdateCalendarRequest) (runners.Calendar, error) {
			return runners.Calendar{ID: r.ID, Name: r.Spec.Name, Dates: r.Spec.Dates}, nil
		}),
		stubbed(st, runners.SubjectCalendarDelete, func(r runners.CalendarRequest) (runners.CalendarDeleted, error) {
			if r.ID == "in-use" {
				return runners.CalendarDeleted{}, errs.E(errs.Conflict, "the calendar is used by the schedules nightly")
			}
			return runners.CalendarDeleted{}, nil
		}),
		stubbed(st, runners.SubjectJobList, func(runners.ListJobsRequest) (runners.ListJobsResponse, error) {
			return runners.ListJobsResponse{Items: []runners.Job{}}, nil
		}),
	}
	serveStubs(t, url, log, "stub-schedules", eps)
	s := &Server{Log: log, NATS: natsrpc.NewClient(natstest.Connect(t, url), nil)}
	e := gin.New()
	for _, r := range s.scheduleRoutes() {
		e.Handle(r.Method, r.Path, web.Wrap(log, r.Handle))
	}
	e.GET("/api/v1/jobs", web.Wrap(log, s.listJobs))
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func TestScheduleRoutes(t *testing.T) {
	st := &scheduleStub{seen: map[string][]any{}}
	srv := scheduleServer(t, st)
	do := func(t *testing.T, method, path, body string, header map[string]string) (int, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%s %s: %v in %q", method, path, err, raw)
			}
		}
		return resp.StatusCode, out
	}
	t.Run("a create forwards the spec and answers 201", func(t *testing.T) {
		code, body := do(t, http.MethodPost, "/api/v1/schedules",
			`{"name":"nightly","package":"hello","environment":"Production","cron":"0 2 * * *","time_zone":"Europe/Berlin","calendar_ids":["c-1"]}`, nil)
		if code != http.StatusCreated || body["name"] != "nightly" {
			t.Fatalf("%d %v", code, body)
		}
		got, _ := st.last(runners.SubjectScheduleCreate).(runners.ScheduleSpec)
		if got.Cron != "0 2 * * *" || got.TimeZone != "Europe/Berlin" || len(got.CalendarIDs) != 1 || got.CalendarIDs[0] != "c-1" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("the service's refusal comes back as its 400", func(t *testing.T) {
		code, body := do(t, http.MethodPost, "/api/v1/schedules", `{"name":"x","package":"hello","environment":"Production"}`, nil)
		e, _ := body["error"].(map[string]any)
		if code != http.StatusBadRequest || e["code"] != "invalid_argument" || e["message"] != "cron or interval_seconds is needed" {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("an unknown field in the body is refused before the service", func(t *testing.T) {
		before := st.calls()
		if code, _ := do(t, http.MethodPost, "/api/v1/schedules", `{"name":"x","every":"day"}`, nil); code != http.StatusBadRequest {
			t.Fatalf("%d", code)
		}
		if st.calls() != before {
			t.Fatal("the refused body reached the service")
		}
	})
	t.Run("a PUT carries the id and the whole spec", func(t *testing.T) {
		code, body := do(t, http.MethodPut, "/api/v1/schedules/s-1", `{"name":"nightly","package":"hello","environment":"Production","interval_seconds":60}`, nil)
		if code != http.StatusOK || body["id"] != "s-1" {
			t.Fatalf("%d %v", code, body)
		}
		got, _ := st.last(runners.SubjectScheduleUpdate).(runners.UpdateScheduleRequest)
		if got.ID != "s-1" || got.Spec.IntervalSeconds != 60 || got.Spec.Name != "nightly" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("read, pause, resume answer the schedule; an unknown one is 404", func(t *testing.T) {
		if code, body := do(t, http.MethodGet, "/api/v1/schedules/s-1", "", nil); code != http.StatusOK || body["id"] != "s-1" {
			t.Fatalf("%d %v", code, body)
		}
		if code, body := do(t, http.MethodGet, "/api/v1/schedules/missing", "", nil); code != http.StatusNotFound {
			t.Fatalf("%d %v", code, body)
		}
		if code, body := do(t, http.MethodPost, "/api/v1/schedules/s-1/pause", "", nil); code != http.StatusOK || body["state"] != "paused" {
			t.Fatalf("%d %v", code, body)
		}
		if code, body := do(t, http.MethodPost, "/api/v1/schedules/s-2/resume", "", nil); code != http.StatusOK || body["state"] != "active" {
			t.Fatalf("%d %v", code, body)
		}
		if got := st.last(runners.SubjectScheduleResume); got != (runners.ScheduleRequest{ID: "s-2"}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a run now carries the Idempotency-Key and answers 201 with the fire", func(t *testing.T) {
		code, body := do(t, http.MethodPost, "/api/v1/schedules/s-1/run", "", map[string]string{runners.HeaderIdempotencyKey: "k-7"})
		if code != http.StatusCreated || body["job_id"] != "job-9" || body["kind"] != "manual" {
			t.Fatalf("%d %v", code, body)
		}
		if got := st.last(runners.SubjectScheduleRun); got != (runners.RunScheduleRequest{ID: "s-1", IdempotencyKey: "k-7"}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("deletes answer 204; a calendar in use is a 409 naming its schedules", func(t *testing.T) {
		if code, _ := do(t, http.MethodDelete, "/api/v1/schedules/s-1", "", nil); code != http.StatusNoContent {
			t.Fatalf("%d", code)
		}
		if code, _ := do(t, http.MethodDelete, "/api/v1/calendars/c-1", "", nil); code != http.StatusNoContent {
			t.Fatalf("%d", code)
		}
		code, body := do(t, http.MethodDelete, "/api/v1/calendars/in-use", "", nil)
		e, _ := body["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != http.StatusConflict || !strings.Contains(msg, "nightly") {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("calendars: create 201, PUT carries the id", func(t *testing.T) {
		code, body := do(t, http.MethodPost, "/api/v1/calendars", `{"name":"holidays","dates":["2026-12-25"]}`, nil)
		if code != http.StatusCreated || body["id"] != "c-new" {
			t.Fatalf("%d %v", code, body)
		}
		code, _ = do(t, http.MethodPut, "/api/v1/calendars/c-2", `{"name":"h2","time_zone":"Europe/Paris","dates":["2027-01-01"]}`, nil)
		got, _ := st.last(runners.SubjectCalendarUpdate).(runners.UpdateCalendarRequest)
		if code != http.StatusOK || got.ID != "c-2" || got.Spec.TimeZone != "Europe/Paris" || len(got.Spec.Dates) != 1 {
			t.Fatalf("%d %+v", code, got)
		}
		if code, _ := do(t, http.MethodGet, "/api/v1/calendars?limit=5&cursor=x", "", nil); code != http.StatusOK {
			t.Fatalf("%d", code)
		}
		if got := st.last(runners.SubjectCalendarList); got != (runners.ListCalendarsRequest{Limit: 5, Cursor: "x"}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("list filters reach the service", func(t *testing.T) {
		code, _ := do(t, http.MethodGet, "/api/v1/schedules?state=paused&environment=Staging&package=hello&calendar_id=c-1&limit=7&cursor=n", "", nil)
		want := runners.ListSchedulesRequest{Limit: 7, Cursor: "n", State: "paused", Environment: "Staging", Package: "hello", CalendarID: "c-1"}
		if got := st.last(runners.SubjectScheduleList); code != http.StatusOK || got != want {
			t.Fatalf("%d %+v", code, got)
		}
		code, _ = do(t, http.MethodGet, "/api/v1/jobs?schedule_id=s-1", "", nil)
		if got, _ := st.last(runners.SubjectJobList).(runners.ListJobsRequest); code != http.StatusOK || got.ScheduleID != "s-1" {
			t.Fatalf("%d %+v", code, got)
		}
	})
	t.Run("next fire times default to 10 and take a count", func(t *testing.T) {
		code, body := do(t, http.MethodGet, "/api/v1/schedules/s-1/next", "", nil)
		if items, _ := body["items"].([]any); code != http.StatusOK || len(items) != runners.DefaultNextFires {
			t.Fatalf("%d %v", code, body)
		}
		code, _ = do(t, http.MethodGet, "/api/v1/schedules/s-1/next?count=100", "", nil)
		if got := st.last(runners.SubjectScheduleNext); code != http.StatusOK || got != (runners.NextFiresRequest{ID: "s-1", Count: 100}) {
			t.Fatalf("%d %+v", code, got)
		}
	})
	t.Run("fires of one schedule and of all, with the outcome and time filters", func(t *testing.T) {
		code, _ := do(t, http.MethodGet, "/api/v1/schedules/s-1/fires?outcome=missed&limit=3", "", nil)
		got, _ := st.last(runners.SubjectScheduleFires).(runners.ListFiresRequest)
		if code != http.StatusOK || got.ScheduleID != "s-1" || got.Outcome != "missed" || got.Limit != 3 {
			t.Fatalf("%d %+v", code, got)
		}
		code, _ = do(t, http.MethodGet, "/api/v1/schedule-fires?outcome=failed&since=2026-01-01T00:00:00Z&until=2026-01-02T01:00:00%2B01:00", "", nil)
		got, _ = st.last(runners.SubjectScheduleFires).(runners.ListFiresRequest)
		if code != http.StatusOK || got.ScheduleID != "" || got.Outcome != "failed" ||
			!got.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !got.Until.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("%d %+v", code, got)
		}
	})
	before := st.calls()
	for path, param := range map[string]string{
		"/api/v1/schedules/s-1/next?count=0":                                           "count ",
		"/api/v1/schedules/s-1/next?count=101":                                         "count ",
		"/api/v1/schedules/s-1/next?count=x":                                           "count ",
		"/api/v1/schedules?state=sleeping":                                             "state ",
		"/api/v1/schedules?environment=Moon":                                           "environment ",
		"/api/v1/schedules?limit=501":                                                  "limit ",
		"/api/v1/schedules/s-1/fires?outcome=exploded":                                 "outcome ",
		"/api/v1/schedule-fires?outcome=lost":                                          "outcome ",
		"/api/v1/schedule-fires?since=yesterday":                                       "since ",
		"/api/v1/schedule-fires?until=2026-01-02":                                      "until ",
		"/api/v1/schedule-fires?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z": "until ",
		"/api/v1/calendars?limit=0":                                                    "limit ",
	} {
		t.Run("a bad query is a 400 naming the parameter: "+path, func(t *testing.T) {
			code, body := do(t, http.MethodGet, path, "", nil)
			e, _ := body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if code != http.StatusBadRequest || e["code"] != "invalid_argument" || !strings.HasPrefix(msg, param) {
				t.Fatalf("%d %v", code, body)
			}
		})
	}
	if st.calls() != before {
		t.Fatal("a refused request reached the service")
	}
}
