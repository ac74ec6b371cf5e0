package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

func TestSchedulesList(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("an operator sees every schedule with its timing, state and last fire", func(t *testing.T) {
		w := h.get("/schedules", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-schedules" href="/schedules" aria-current="page"`, `id="schedules-table"`,
			`id="schedule-s-1" data-id="s-1" data-state="active"`, `<a href="/schedules/s-1">nightly</a>`,
			`class="schedule-package"><a href="/packages/hello">hello</a>@latest<`, `class="schedule-environment">Production<`,
			`<code>0 2 * * *</code> <span class="schedule-zone muted">Europe/Berlin</span>`,
			`class="schedule-state badge schedule-active">active<`,
			`data-at="2026-07-01T00:00:00Z"><span class="schedule-next-local">2026-07-01 02:00 CEST</span><br><span class="schedule-next-utc muted">2026-07-01 00:00 UTC</span>`,
			`<span class="badge fire-job_created">job created</span>`, `<a href="/jobs/j-sched" title="job j-sched">job <code>j-sched</code></a>`,
			`id="schedule-s-2" data-id="s-2" data-state="paused"`, `<code>every 300 s</code>`, `id="schedules-calendars-link"`,
			`id="schedules-filter-state"`, `id="schedules-filter-environment"`)
		wantNot(t, w, `id="schedules-new-link"`)
	})
	t.Run("a developer is offered the new-schedule form", func(t *testing.T) {
		wantPage(t, h.get("/schedules", devToken), http.StatusOK, `<a href="/schedules/new" id="schedules-new-link" class="button">`)
	})
	t.Run("the filters reach the service and stay selected", func(t *testing.T) {
		w := h.get("/schedules?state=paused&environment=Staging", opToken)
		wantPage(t, w, http.StatusOK, `<option value="paused" selected>`, `<option value="Staging" selected>`, `id="schedule-s-2"`, `id="schedules-filter-clear"`)
		wantNot(t, w, `id="schedule-s-1"`)
		h.fake.with(func(f *fakeHub) {
			if r := f.schedules.lastList; r.State != "paused" || r.Environment != "Staging" || r.Limit != 50 {
				t.Fatalf("list request = %+v", r)
			}
		})
	})
	t.Run("anonymous visitors are sent to sign in", func(t *testing.T) {
		wantRedirect(t, h.get("/schedules", ""), "/login?next=%2Fschedules")
	})
}

func TestSchedulePage(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("an operator sees details, coming fire times and history, and may pause and run", func(t *testing.T) {
		w := h.get("/schedules/s-1", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-schedules" href="/schedules" aria-current="page"`,
			`id="schedule" data-id="s-1" data-state="active"`, `id="schedule-description">the nightly report<`,
			`id="schedule-target"><a href="/runners/r-1" title="runner r-1">build-01</a> with labels <code>linux</code>`,
			`<code id="schedule-when">0 2 * * *</code> in <span id="schedule-zone">Europe/Berlin</span>`,
			`id="schedule-calendars"><a href="/calendars/c-1">holidays</a><`, `id="schedule-misfire">fire once<`,
			`id="schedule-next-fire">2026-07-01 02:00 CEST <span class="muted">(2026-07-01 00:00 UTC)</span>`,
			`id="schedule-created-by" title="u-dev">u-dev<`,
			`action="/schedules/s-1/pause" id="schedule-pause-form"`, `id="schedule-run-form"`, `name="idempotency_key"`,
			`<a href="/jobs?schedule_id=s-1" id="schedule-jobs">`,
			// the coming fire times, the second skipped by the calendar
			`id="schedule-next"`, `<tr class="next-fire" data-at="2026-07-01T00:00:00Z" data-skipped="false">`,
			`<td>2026-07-01 02:00 CEST</td><td>2026-07-01 00:00 UTC</td>`,
			`data-at="2026-07-02T00:00:00Z" data-skipped="true"`, `skipped</span> by <a href="/calendars/c-1">holidays</a>`,
			// the history, newest first
			`id="schedule-fires"`, `<tr class="fire" data-outcome="job_created" data-kind="scheduled">`,
			`<a href="/jobs/j-sched" title="job j-sched"><code>j-sched</code></a>`, `class="fire-lag num">0.5 s<`,
			`data-outcome="skipped_calendar"`, `2026-06-29 is a non-working day of holidays`)
		wantNot(t, w, `id="schedule-edit"`, `id="schedule-delete"`, `id="schedule-resume-form"`, `id="schedule-fires-next"`)
		if n := strings.Count(w.Body.String(), `class="next-fire"`); n != runners.DefaultNextFires {
			t.Errorf("%d coming fire times shown, want %d", n, runners.DefaultNextFires)
		}
	})
	t.Run("a developer may edit and delete", func(t *testing.T) {
		wantPage(t, h.get("/schedules/s-1", devToken), http.StatusOK, `href="/schedules/s-1/edit" id="schedule-edit"`,
			`href="/schedules/s-1/delete" id="schedule-delete"`)
	})
	t.Run("a paused schedule offers resume and has no coming fire times", func(t *testing.T) {
		w := h.get("/schedules/s-2", opToken)
		wantPage(t, w, http.StatusOK, `id="schedule-resume-form"`, `id="schedule-next-none"`, "the schedule is paused", `id="schedule-fires-none"`,
			`<code id="schedule-when">every 300 s</code>`, `id="schedule-target">any matching runner<`)
		wantNot(t, w, `id="schedule-pause-form"`)
	})
	t.Run("the fire history pages", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) {
			for i := range 25 {
				f.schedules.fires["s-2"] = append(f.schedules.fires["s-2"], runners.ScheduleFire{ScheduleID: "s-2",
					FireTime: fireAt.Add(-time.Duration(i) * time.Hour), Kind: runners.FireScheduled, Outcome: runners.FireMissed})
			}
		})
		w := h.get("/schedules/s-2", opToken)
		wantPage(t, w, http.StatusOK, `href="/schedules/s-2?fires_cursor=more#schedule-fires" id="schedule-fires-next"`)
		h.get("/schedules/s-2?fires_cursor=abc", opToken)
		h.fake.with(func(f *fakeHub) {
			if r := f.schedules.lastFires; r.ScheduleID != "s-2" || r.Cursor != "abc" || r.Limit != 20 {
				t.Fatalf("fires request = %+v", r)
			}
		})
	})
	t.Run("an unknown schedule is a 404 page", func(t *testing.T) {
		wantPage(t, h.get("/schedules/nope", opToken), http.StatusNotFound, "no such schedule")
	})
}

func TestScheduleActions(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	state := func(id string) string {
		var s string
		h.fake.with(func(f *fakeHub) { s = f.schedules.items[f.findSchedule(id)].State })
		return s
	}
	t.Run("an operator pauses and resumes", func(t *testing.T) {
		wantRedirect(t, h.post("/schedules/s-1/pause", opToken, nil), "/schedules/s-1?flash=schedule_paused")
		if state("s-1") != runners.SchedulePaused {
			t.Fatal("not paused")
		}
		wantPage(t, h.get("/schedules/s-1?flash=schedule_paused", opToken), http.StatusOK, `id="flash"`, "it fires no more until resumed")
		wantRedirect(t, h.post("/schedules/s-1/resume", opToken, nil), "/schedules/s-1?flash=schedule_resumed")
		if state("s-1") != runners.ScheduleActive {
			t.Fatal("not resumed")
		}
	})
	t.Run("an ended schedule's refusal is shown on its page", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.schedules.items[f.findSchedule("s-2")].State = runners.ScheduleEnded })
		wantPage(t, h.post("/schedules/s-2/resume", opToken, nil), http.StatusConflict, `id="error"`, "the schedule has ended", `id="schedule"`)
		h.fake.with(func(f *fakeHub) {
			f.schedules.items[f.findSchedule("s-2")].State = runners.SchedulePaused
		})
	})
	t.Run("run now opens the job it started, with the form's idempotency key", func(t *testing.T) {
		wantRedirect(t, h.post("/schedules/s-1/run", opToken, url.Values{"idempotency_key": {"k-1"}}), "/jobs/j-run?flash=schedule_run_job")
		h.fake.with(func(f *fakeHub) {
			if r := f.schedules.lastRun; r == nil || *r != (runners.RunScheduleRequest{ID: "s-1", IdempotencyKey: "k-1"}) {
				t.Fatalf("run request = %+v", r)
			}
		})
	})
	t.Run("run now without a job comes back to the history", func(t *testing.T) {
		wantRedirect(t, h.post("/schedules/s-2/run", opToken, nil), "/schedules/s-2?flash=schedule_run#schedule-fires")
	})
	t.Run("an operator may not edit or delete", func(t *testing.T) {
		wantPage(t, h.get("/schedules/s-1/edit", opToken), http.StatusForbidden, "needs the DEVELOPER role")
		wantPage(t, h.get("/schedules/new", opToken), http.StatusForbidden, "needs the DEVELOPER role")
		wantPage(t, h.post("/schedules/s-1/delete", opToken, nil), http.StatusForbidden)
		wantPage(t, h.post("/schedules", opToken, url.Values{"name": {"x"}}), http.StatusForbidden)
		h.fake.with(func(f *fakeHub) {
			if f.schedules.lastCreate != nil || len(f.schedules.deleted) > 0 {
				t.Fatal("a refused form reached the service")
			}
		})
	})
	t.Run("a developer confirms, then deletes", func(t *testing.T) {
		wantPage(t, h.get("/schedules/s-2/delete", devToken), http.StatusOK, `id="schedule-delete-name">poller<`, `action="/schedules/s-2/delete"`)
		wantRedirect(t, h.post("/schedules/s-2/delete", devToken, nil), "/schedules?flash=schedule_deleted")
		h.fake.with(func(f *fakeHub) {
			if !slices.Equal(f.schedules.deleted, []string{"s-2"}) {
				t.Fatalf("deleted %v", f.schedules.deleted)
			}
		})
	})
}

func TestScheduleForm(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("the new form offers every field", func(t *testing.T) {
		w := h.get("/schedules/new?package=params", devToken)
		wantPage(t, w, http.StatusOK, `id="schedule-choose"`, `action="/schedules/new"`, `<option value="params" selected>params</option>`,
			`<option value="2.0.0">2.0.0</option>`, `action="/schedules" id="schedule-form"`,
			`id="schedule-name" name="name" value=""`, `id="schedule-environment"`, `<option value="r-1">build-01 (Production)</option>`,
			`id="schedule-labels"`, `id="schedule-params"`, `id="schedule-param-who" name="param.who"`, `<select id="schedule-param-mode"`,
			`id="schedule-max-attempts"`, `id="schedule-timeout"`, `id="schedule-cron"`, `id="schedule-interval"`,
			`id="schedule-time-zone" name="time_zone" value="UTC" list="schedule-zones"`, `<datalist id="schedule-zones">`, `<option value="Europe/Berlin">`,
			`id="schedule-start-at"`, `id="schedule-end-at"`,
			`<input type="checkbox" id="schedule-calendar-c-1" name="calendar_ids" value="c-1">`, `id="schedule-calendar-c-2"`,
			`<option value="skip" selected>skip: a fire while the previous job is still live is recorded as skipped (the default)</option>`,
			`<option value="queue">`, `<option value="fire_once" selected>fire once:`, `id="schedule-paused"`, `id="schedule-submit"`)
		wantNot(t, w, `id="schedule-parameters"`)
	})
	good := url.Values{"package": {"params"}, "version": {"2.0.0"}, "name": {"morning"}, "description": {"greets"}, "environment": {"Staging"},
		"runner_id": {""}, "labels": {"linux, gpu"}, "declared": {"true"}, "param.who": {"world"}, "param.count": {"7"}, "param.mode": {""},
		"max_attempts": {"3"}, "timeout_seconds": {"120"}, "cron": {"0 8 * * MON-FRI"}, "interval_seconds": {""}, "time_zone": {"Europe/Paris"},
		"start_at": {"2026-08-01T06:00"}, "end_at": {""}, "calendar_ids": {"c-1", "c-2"}, "concurrency": {"queue"}, "misfire": {"skip"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = slices.Clone(vs)
		}
		f.Set(k, v)
		return f
	}
	t.Run("a bad cron comes back marked, every other value kept", func(t *testing.T) {
		w := h.post("/schedules", devToken, with("cron", "bad"))
		wantPage(t, w, http.StatusBadRequest, `id="error" role="alert">cron: expected 5 or 6 fields, found 1<`,
			`id="schedule-cron" name="cron" value="bad" autocomplete="off" spellcheck="false" aria-describedby="schedule-cron-help" aria-invalid="true" aria-errormessage="error"`,
			`id="schedule-name" name="name" value="morning"`, `value="Europe/Paris"`, `value="2026-08-01T06:00"`, `id="schedule-param-who" name="param.who" value="world"`,
			`value="7"`, `name="calendar_ids" value="c-1" checked`, `name="calendar_ids" value="c-2" checked`, `<option value="queue" selected>`,
			`<option value="skip" selected>skip: every missed time`, `<option value="Staging" selected>`, `value="linux, gpu"`)
		if n := strings.Count(w.Body.String(), `aria-invalid="true"`); n != 1 {
			t.Errorf("%d fields marked, want the cron field only", n)
		}
	})
	t.Run("a bad time zone marks the zone", func(t *testing.T) {
		w := h.post("/schedules", devToken, with("time_zone", "Mars/Base"))
		wantPage(t, w, http.StatusBadRequest, `value="Mars/Base" list="schedule-zones" autocomplete="off" spellcheck="false" aria-describedby="schedule-time-zone-help" aria-invalid="true"`)
	})
	t.Run("a required parameter left out marks its field", func(t *testing.T) {
		w := h.post("/schedules", devToken, with("param.who", ""))
		wantPage(t, w, http.StatusBadRequest, `parameter &#34;who&#34;: required, and missing`,
			`id="schedule-param-who" name="param.who" value="" data-type="string" autocomplete="off"`, `aria-invalid="true"`)
	})
	t.Run("a number that is not one is refused before the service, naming the field", func(t *testing.T) {
		h.fake.with(func(f *fakeHub) { f.schedules.lastCreate = nil })
		for field, id := range map[string]string{"max_attempts": "schedule-max-attempts", "interval_seconds": "schedule-interval", "start_at": "schedule-start-at"} {
			w := h.post("/schedules", devToken, with(field, "soon"))
			wantPage(t, w, http.StatusBadRequest, field+" must be", `id="`+id+`"`)
			if !strings.Contains(w.Body.String(), `aria-invalid="true"`) {
				t.Errorf("%s: no field marked", field)
			}
		}
		h.fake.with(func(f *fakeHub) {
			if f.schedules.lastCreate != nil {
				t.Fatalf("a refused form reached the service: %+v", f.schedules.lastCreate)
			}
		})
	})
	t.Run("a good form creates the schedule and opens it", func(t *testing.T) {
		wantRedirect(t, h.post("/schedules", devToken, good), "/schedules/s-new?flash=schedule_created")
		h.fake.with(func(f *fakeHub) {
			r := f.schedules.lastCreate
			start := time.Date(2026, 8, 1, 6, 0, 0, 0, time.UTC)
			if r == nil || r.Name != "morning" || r.Package != "params" || r.Version != "2.0.0" || r.Environment != "Staging" ||
				strings.Join(r.Labels, "|") != "linux|gpu" || string(r.Parameters) != `{"count":7,"who":"world"}` || r.MaxAttempts != 3 ||
				r.TimeoutSeconds != 120 || r.Cron != "0 8 * * MON-FRI" || r.IntervalSeconds != 0 || r.TimeZone != "Europe/Paris" ||
				r.StartAt == nil || !r.StartAt.Equal(start) || r.EndAt != nil || !slices.Equal(r.CalendarIDs, []string{"c-1", "c-2"}) ||
				r.Concurrency != "queue" || r.Misfire != "skip" || r.Paused || r.RunnerID != "" {
				t.Fatalf("create request = %+v (%s)", r, r.Parameters)
			}
		})
	})
	t.Run("the service's conflict marks the name", func(t *testing.T) {
		w := h.post("/schedules", devToken, good)
		wantPage(t, w, http.StatusConflict, "name is in use", `id="schedule-name" name="name" value="morning" required maxlength="100" autocomplete="off" aria-invalid="true"`)
	})
	t.Run("the edit form holds the schedule as it is", func(t *testing.T) {
		w := h.get("/schedules/s-2/edit", devToken)
		wantPage(t, w, http.StatusOK, `action="/schedules/s-2/edit" id="schedule-form"`, `action="/schedules/s-2/edit" id="schedule-choose"`,
			`value="poller"`, `id="schedule-interval" name="interval_seconds" value="300"`, `id="schedule-param-who" name="param.who" value="ops"`,
			`id="schedule-param-count" name="param.count" value="5"`, `<option value="queue" selected>`, `<option value="2.0.0" selected>`, "Save schedule")
		wantNot(t, w, `id="schedule-paused"`)
	})
	t.Run("saving the edit replaces the spec", func(t *testing.T) {
		f := with("name", "poller")
		f.Set("cron", "")
		f.Set("interval_seconds", "600")
		wantRedirect(t, h.post("/schedules/s-2/edit", devToken, f), "/schedules/s-2?flash=schedule_updated")
		h.fake.with(func(f *fakeHub) {
			if r := f.schedules.lastUpdate; r == nil || r.ID != "s-2" || r.Spec.IntervalSeconds != 600 || r.Spec.Cron != "" || r.Spec.Name != "poller" {
				t.Fatalf("update request = %+v", r)
			}
		})
	})
}

func TestCalendarPages(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	t.Run("the list, reached from the schedules", func(t *testing.T) {
		w := h.get("/calendars", opToken)
		wantPage(t, w, http.StatusOK, `id="nav-schedules" href="/schedules" aria-current="page"`, `id="calendars-table"`,
			`id="calendar-c-1" data-id="c-1"`, `<a href="/calendars/c-1">holidays</a>`, `class="calendar-zone">Europe/Berlin<`,
			`class="calendar-dates num">2<`, `class="calendar-next">2099-01-01<`, `id="calendar-c-2"`, `class="calendar-next">—<`)
		wantNot(t, w, `id="calendars-new-link"`)
		wantPage(t, h.get("/calendars", devToken), http.StatusOK, `id="calendars-new-link"`)
	})
	t.Run("an operator sees a calendar and who uses it, without the form", func(t *testing.T) {
		w := h.get("/calendars/c-1", opToken)
		wantPage(t, w, http.StatusOK, `id="calendar" data-id="c-1"`, `<time datetime="2000-01-01">2000-01-01</time>, <time datetime="2099-01-01">`,
			`id="calendar-used-by"`, `id="calendar-schedule-s-1"`, `<a href="/schedules/s-1">nightly</a>`)
		wantNot(t, w, `id="calendar-form"`, `id="calendar-delete"`)
		h.fake.with(func(f *fakeHub) {
			if f.schedules.lastList.CalendarID != "c-1" {
				t.Fatalf("list request = %+v", f.schedules.lastList)
			}
		})
		wantPage(t, h.get("/calendars/c-2", opToken), http.StatusOK, `id="calendar-used-by-none"`)
		wantPage(t, h.get("/calendars/new", opToken), http.StatusForbidden)
	})
	t.Run("a developer edits the dates, one a line or comma separated", func(t *testing.T) {
		w := h.get("/calendars/c-1", devToken)
		wantPage(t, w, http.StatusOK, `action="/calendars/c-1" id="calendar-form"`, `id="calendar-name" name="name" value="holidays"`,
			">2000-01-01\n2099-01-01</textarea>", `id="calendar-delete"`)
		form := url.Values{"name": {"holidays"}, "time_zone": {"Europe/Berlin"}, "dates": {"2026-12-25\r\n2026-12-26, 2027-01-01\n"}}
		wantRedirect(t, h.post("/calendars/c-1", devToken, form), "/calendars/c-1?flash=calendar_updated")
		h.fake.with(func(f *fakeHub) {
			if r := f.schedules.lastCal; r == nil || !slices.Equal(r.Dates, []string{"2026-12-25", "2026-12-26", "2027-01-01"}) || r.TimeZone != "Europe/Berlin" {
				t.Fatalf("update request = %+v", r)
			}
		})
	})
	t.Run("a bad date comes back marked, as typed", func(t *testing.T) {
		form := url.Values{"name": {"feasts"}, "time_zone": {"UTC"}, "dates": {"2026-12-25\n2026-13-01"}}
		w := h.post("/calendars", devToken, form)
		wantPage(t, w, http.StatusBadRequest, `&#34;2026-13-01&#34; is not a date`, `value="feasts"`,
			`aria-describedby="calendar-dates-help" aria-invalid="true" aria-errormessage="error">2026-12-25
2026-13-01</textarea>`)
	})
	t.Run("a new calendar", func(t *testing.T) {
		wantPage(t, h.get("/calendars/new", devToken), http.StatusOK, `action="/calendars" id="calendar-form"`, `value="UTC"`)
		wantRedirect(t, h.post("/calendars", devToken, url.Values{"name": {"feasts"}, "dates": {"2026-12-25"}}), "/calendars/c-new?flash=calendar_created")
	})
	t.Run("a calendar in use is not deleted: the conflict names its schedules", func(t *testing.T) {
		wantPage(t, h.get("/calendars/c-1/delete", devToken), http.StatusOK, `id="calendar-delete-name">holidays<`)
		w := h.post("/calendars/c-1/delete", devToken, nil)
		wantPage(t, w, http.StatusConflict, `id="error" role="alert">the calendar is used by the schedules nightly<`, `id="calendar" data-id="c-1"`)
		wantPage(t, h.post("/calendars/c-2/delete", opToken, nil), http.StatusForbidden)
		wantRedirect(t, h.post("/calendars/c-2/delete", devToken, nil), "/calendars?flash=calendar_deleted")
	})
}

func TestJobsOfSchedules(t *testing.T) {
	h := newHub(t, true)
	h.fake.addOperator()
	h.fake.with(func(f *fakeHub) {
		sid, name, at := "s-1", "nightly", fireAt
		f.jobs.items = append(f.jobs.items, runners.Job{ID: "j-sched", Package: "hello", Version: "1.2.0", Environment: runners.EnvProduction,
			Status: runners.JobPending, MaxAttempts: 1, CreatedBy: devUser.ID, CreatedAt: publishedAt, ScheduleID: &sid, ScheduleName: &name, ScheduledFor: &at})
		gone := "s-gone"
		f.jobs.items = append(f.jobs.items, runners.Job{ID: "j-manual", Package: "hello", Version: "1.2.0", Environment: runners.EnvProduction,
			Status: runners.JobSucceeded, MaxAttempts: 1, CreatedBy: opUser.ID, CreatedAt: publishedAt, ScheduleID: &gone})
	})
	t.Run("the job page names its schedule and fire time", func(t *testing.T) {
		wantPage(t, h.get("/jobs/j-sched", opToken), http.StatusOK,
			`<a href="/schedules/s-1" id="job-schedule" title="schedule s-1">nightly</a>, for the fire time <span id="job-scheduled-for">2026-07-01 00:00 UTC</span>`)
		wantPage(t, h.get("/jobs/j-manual", opToken), http.StatusOK, `id="job-schedule" title="schedule s-gone">schedule s-gone</a> (run now)`)
		wantNot(t, h.get("/jobs/j-pend", opToken), `id="job-schedule"`)
	})
	t.Run("the jobs list links the schedule and filters by it", func(t *testing.T) {
		w := h.get("/jobs", opToken)
		wantPage(t, w, http.StatusOK, `<a class="job-schedule" href="/schedules/s-1" title="schedule s-1">nightly</a> <span class="job-scheduled-for muted">for 2026-07-01 00:00 UTC</span>`)
		w = h.get("/jobs?schedule_id=s-1", opToken)
		wantPage(t, w, http.StatusOK, `id="jobs-filter-schedule" data-schedule="s-1"`, `<a href="/schedules/s-1">nightly</a>`,
			`<input type="hidden" name="schedule_id" value="s-1">`, `id="job-j-sched"`, `id="jobs-filter-clear"`)
		wantNot(t, w, `id="job-j-pend"`, `id="job-j-manual"`)
		h.fake.with(func(f *fakeHub) {
			if f.jobs.lastList.ScheduleID != "s-1" {
				t.Fatalf("list request = %+v", f.jobs.lastList)
			}
		})
	})
}
