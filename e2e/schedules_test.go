package e2e

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// misfireGrace is the pilot's runners.schedule_misfire_grace in this test:
// short, so a stop of seconds is a misfire as three minutes are by default.
const misfireGrace = 5 * time.Second

// hubDown is how long TestSchedules stops the Hub (EXEKRA_E2E_HUB_DOWN,
// e.g. 3m with EXEKRA_E2E_MISFIRE_GRACE=60s for the defaults' case).
func hubDown(t *testing.T) (down, grace time.Duration) {
	down, grace = 20*time.Second, misfireGrace
	for name, d := range map[string]*time.Duration{"EXEKRA_E2E_HUB_DOWN": &down, "EXEKRA_E2E_MISFIRE_GRACE": &grace} {
		if v := os.Getenv(name); v != "" {
			var err error
			if *d, err = time.ParseDuration(v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
	}
	return down, grace
}

// fire is one fire as the API shows it.
type fire struct {
	at               time.Time
	outcome, reason  string
	jobID            string
	lag              float64
	kind, scheduleID string
}

// fires reads every fire of a schedule, newest first.
func fires(t *testing.T, a *api, id string) []fire {
	t.Helper()
	var out []fire
	cursor := ""
	for {
		page := a.must(http.StatusOK, "GET", "/api/v1/schedules/"+id+"/fires?limit=500&cursor="+url.QueryEscape(cursor), nil)
		for _, it := range page["items"].([]any) {
			m := it.(map[string]any)
			at, err := time.Parse(time.RFC3339Nano, m["fire_time"].(string))
			if err != nil {
				t.Fatal(err)
			}
			f := fire{at: at, outcome: m["outcome"].(string), reason: m["reason"].(string), kind: m["kind"].(string),
				scheduleID: m["schedule_id"].(string)}
			if j, ok := m["job_id"].(string); ok {
				f.jobID = j
			}
			if l, ok := m["lag_seconds"].(float64); ok {
				f.lag = l
			}
			out = append(out, f)
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			return out
		}
	}
}

// scheduleJobs counts the jobs a schedule started, by id.
func scheduleJobs(t *testing.T, a *api, id string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	cursor := ""
	for {
		page := a.must(http.StatusOK, "GET", "/api/v1/jobs?limit=500&schedule_id="+id+"&cursor="+url.QueryEscape(cursor), nil)
		for _, it := range page["items"].([]any) {
			j := it.(map[string]any)
			out[j["id"].(string)] = j
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			return out
		}
	}
}

func count(fs []fire, outcome string) int {
	n := 0
	for _, f := range fs {
		if f.outcome == outcome {
			n++
		}
	}
	return n
}

// TestSchedules drives schedules on the pilot: roles, a calendar's skipped
// day, DST through the API, fires that start jobs a real agent runs (each
// job naming its schedule and fire time), run now, and the misfire policies
// after the whole Hub was stopped.
func TestSchedules(t *testing.T) {
	down, grace := hubDown(t)
	v := newVendor(t)
	h := newHub(t)
	h.env["EXEKRA_RUNNERS_SCHEDULE_MISFIRE_GRACE"] = grace.String()
	h.env["EXEKRA_LICENSE_PUBLIC_KEYS"] = v.pub
	h.start()
	adminTok := bootstrapHub(t, h, v)
	_, devTok := user(t, h, adminTok, "dev@acme.test", "DEVELOPER")
	opID, opTok := user(t, h, adminTok, "op@acme.test", "OPERATOR")
	dev, op := h.as(devTok), h.as(opTok)
	if code, raw := publish(t, h, devTok, packageZip(t, "tick", "1.0.0", "echo tick\n")); code != http.StatusCreated {
		t.Fatalf("publish = %d %s", code, raw)
	}
	rid, secret := registerRunner(t, h, adminTok, "schedule-runner")
	startAgent(t, h, rid, secret)

	every := func(name string, seconds int, extra map[string]any) map[string]any {
		body := map[string]any{"name": name, "package": "tick", "environment": "Development", "interval_seconds": seconds,
			"concurrency": "allow"}
		for k, v := range extra {
			body[k] = v
		}
		return dev.must(http.StatusCreated, "POST", "/api/v1/schedules", body)
	}

	t.Run("roles: an operator reads and runs, a developer authors", func(t *testing.T) {
		body := map[string]any{"name": "nope", "package": "tick", "environment": "Development", "cron": "@daily"}
		if code := errCode(op.must(http.StatusForbidden, "POST", "/api/v1/schedules", body)); code != "permission_denied" {
			t.Fatalf("an operator creating a schedule: %s", code)
		}
		if code := errCode(dev.must(http.StatusBadRequest, "POST", "/api/v1/schedules",
			map[string]any{"name": "bad", "package": "tick", "environment": "Development", "cron": "61 * * * *"})); code != "invalid_argument" {
			t.Fatalf("a bad cron: %s", code)
		}
		op.must(http.StatusOK, "GET", "/api/v1/schedules", nil)
	})

	t.Run("next fire times cross DST in the schedule's zone", func(t *testing.T) {
		s := dev.must(http.StatusCreated, "POST", "/api/v1/schedules", map[string]any{"name": "ny-0230", "package": "tick",
			"environment": "Development", "cron": "30 2 * * *", "time_zone": "America/New_York"})
		next := op.must(http.StatusOK, "GET", "/api/v1/schedules/"+s["id"].(string)+"/next?count=100", nil)
		var sawGap bool
		for _, it := range next["items"].([]any) {
			n := it.(map[string]any)
			if n["at"] == "2027-03-14T07:00:00Z" { // 02:30 does not exist that night: 03:00 EDT
				sawGap = n["local"] == "2027-03-14T03:00:00-04:00"
			}
		}
		if !sawGap && time.Now().Before(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("the spring-forward night is not at 03:00 EDT: %v", next["items"])
		}
		dev.must(http.StatusNoContent, "DELETE", "/api/v1/schedules/"+s["id"].(string), nil)
	})

	t.Run("a calendar's day is skipped and recorded", func(t *testing.T) {
		today := time.Now().UTC()
		cal := dev.must(http.StatusCreated, "POST", "/api/v1/calendars", map[string]any{"name": "closed",
			"dates": []string{today.Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)}})
		s := every("holiday", 1, map[string]any{"calendar_ids": []string{cal["id"].(string)}})
		id := s["id"].(string)
		waitFor(t, 30*time.Second, "three fires", func() bool { return len(fires(t, op, id)) >= 3 })
		op.must(http.StatusOK, "POST", "/api/v1/schedules/"+id+"/pause", nil)
		fs := fires(t, op, id)
		if count(fs, "skipped_calendar") != len(fs) || len(scheduleJobs(t, op, id)) != 0 {
			t.Fatalf("fires on a closed day: %+v", fs)
		}
		if code := errCode(dev.must(http.StatusConflict, "DELETE", "/api/v1/calendars/"+cal["id"].(string), nil)); code != "conflict" {
			t.Fatalf("deleting a calendar in use: %s", code)
		}
	})

	t.Run("fires start jobs that name their schedule; run now is the caller's", func(t *testing.T) {
		s := every("every-2s", 2, nil)
		id := s["id"].(string)
		waitFor(t, 60*time.Second, "three jobs", func() bool { return count(fires(t, op, id), "job_created") >= 3 })
		run := op.must(http.StatusCreated, "POST", "/api/v1/schedules/"+id+"/run", nil)
		op.must(http.StatusOK, "POST", "/api/v1/schedules/"+id+"/pause", nil)
		if run["kind"] != "manual" || run["outcome"] != "job_created" {
			t.Fatalf("run now = %v", run)
		}
		manual := op.must(http.StatusOK, "GET", "/api/v1/jobs/"+run["job_id"].(string), nil)
		if manual["created_by"] != opID || manual["schedule_id"] != id || manual["scheduled_for"] != nil {
			t.Fatalf("the run-now job: %v", manual)
		}
		fs := fires(t, op, id)
		jobs := scheduleJobs(t, op, id)
		for _, f := range fs {
			if f.kind != "scheduled" || f.outcome != "job_created" {
				continue
			}
			j, ok := jobs[f.jobID]
			if !ok {
				t.Fatalf("fire %s names job %s, which is not among the schedule's jobs", f.at, f.jobID)
			}
			at, _ := time.Parse(time.RFC3339Nano, j["scheduled_for"].(string))
			if !at.Equal(f.at) || j["schedule_name"] != "every-2s" {
				t.Fatalf("job %v for fire %s", j, f.at)
			}
		}
		if len(jobs) != count(fs, "job_created") {
			t.Fatalf("%d jobs for %d fires that made one", len(jobs), count(fs, "job_created"))
		}
		done := waitJob(t, h, opTok, fs[len(fs)-1].jobID, 60*time.Second)
		if done["status"] != "succeeded" {
			t.Fatalf("a scheduled job ended %v", done)
		}
		if n, _ := h.scrape(t, "runners").sum("exekra_schedule_fires_total", map[string]string{"outcome": "job_created"}); n < 3 {
			t.Fatalf("exekra_schedule_fires_total{outcome=job_created} = %v", n)
		}
	})

	t.Run("the misfire policies after the Hub was stopped", func(t *testing.T) {
		once := every("catch-up", 5, map[string]any{"misfire": "fire_once"})["id"].(string)
		skip := every("skip-missed", 5, map[string]any{"misfire": "skip"})["id"].(string)
		waitFor(t, 30*time.Second, "both firing", func() bool {
			return count(fires(t, op, once), "job_created") > 0 && count(fires(t, op, skip), "job_created") > 0
		})
		h.kill()
		stopped := time.Now()
		time.Sleep(down)
		h.start()
		t.Logf("the Hub was down %s; it answers again %s after the stop", down, time.Since(stopped).Round(time.Millisecond))
		back := time.Now()
		waitFor(t, 60*time.Second, "a fire after the restart", func() bool {
			for _, f := range fires(t, op, skip) {
				if f.at.After(back) && f.outcome == "job_created" {
					return true
				}
			}
			return false
		})
		op.must(http.StatusOK, "POST", "/api/v1/schedules/"+once+"/pause", nil)
		op.must(http.StatusOK, "POST", "/api/v1/schedules/"+skip+"/pause", nil)
		window := func(fs []fire, from, to time.Time) []fire {
			var out []fire
			for _, f := range fs {
				if !f.at.Before(from) && f.at.Before(to) {
					out = append(out, f)
				}
			}
			return out
		}
		late := func(fs []fire) (n int) {
			for _, f := range fs {
				if f.outcome == "job_created" && f.lag > grace.Seconds() {
					n++
				}
			}
			return n
		}
		wantMissed := int(down/(5*time.Second)) - 1
		onceFires, skipFires := fires(t, op, once), fires(t, op, skip)
		inDown := window(onceFires, stopped, stopped.Add(down))
		if count(inDown, "missed") < wantMissed || count(inDown, "job_created") > 1 || late(onceFires) != 1 {
			t.Fatalf("fire_once: %d fires while down (%d missed, want at least %d), %d fired late (want 1): %+v",
				len(inDown), count(inDown, "missed"), wantMissed, late(onceFires), inDown)
		}
		t.Logf("fire_once: %d fire times while down, %d recorded missed, one job fired late; skip: %d missed",
			len(inDown), count(inDown, "missed"), count(window(skipFires, stopped, stopped.Add(down)), "missed"))
		inDown = window(skipFires, stopped, stopped.Add(down))
		if count(inDown, "missed") != len(inDown) || len(inDown) < wantMissed || late(skipFires) != 0 {
			t.Fatalf("skip: %d fires while down, %d missed (want all, at least %d), %d fired late (want 0): %+v",
				len(inDown), count(inDown, "missed"), wantMissed, late(skipFires), inDown)
		}
		for _, id := range []string{once, skip} {
			fs := fires(t, op, id)
			seen := map[time.Time]bool{}
			for _, f := range fs {
				if seen[f.at] {
					t.Fatalf("fire time %s recorded twice", f.at)
				}
				seen[f.at] = true
			}
			if n := len(scheduleJobs(t, op, id)); n != count(fs, "job_created") {
				t.Fatalf("%d jobs for %d fires that made one", n, count(fs, "job_created"))
			}
		}
	})
}

// bootstrapHub activates a license on a started hub and signs in its first admin.
func bootstrapHub(t *testing.T, h *hub, v *vendor) string {
	t.Helper()
	anon := h.as("")
	anon.must(http.StatusOK, "POST", "/api/v1/license", map[string]string{"license": v.issue(adminEmail, "5")})
	body := map[string]string{"email": strings.ToLower(adminEmail), "password": "correct horse battery", "name": "First Admin"}
	anon.must(http.StatusCreated, "POST", "/api/v1/setup/bootstrap", body)
	return login(t, h, body["email"], body["password"])
}
