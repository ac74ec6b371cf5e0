package console

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// scheduleSamples are the samples (see samples) of the schedule and calendar pages.
func scheduleSamples(at time.Time) map[string]struct {
	data any
	ids  []string
} {
	job, runner, lag := "j1", "r1", 1.5
	fire := runners.ScheduleFire{ScheduleID: "s1", FireTime: at, Kind: runners.FireScheduled, Outcome: runners.FireJobCreated, JobID: &job, LagSeconds: &lag}
	s := runners.Schedule{ID: "s1", Name: "nightly", Description: "the nightly report", Package: "hello", Version: "latest",
		Environment: runners.EnvStaging, RunnerID: &runner, Labels: []string{"linux"}, Parameters: json.RawMessage(`{"who":"world"}`),
		MaxAttempts: 1, TimeoutSeconds: 3600, Cron: "0 2 * * *", TimeZone: "Europe/Berlin", StartAt: &at, EndAt: &at,
		CalendarIDs: []string{"c1"}, Concurrency: runners.ConcurrencySkip, Misfire: runners.MisfireFireOnce, State: runners.ScheduleActive,
		NextFireAt: &at, LastFire: &fire, CreatedBy: "u1", CreatedAt: at, UpdatedAt: at}
	cal := runners.Calendar{ID: "c1", Name: "holidays", TimeZone: "UTC", Dates: []string{"2026-12-25"}, CreatedAt: at, UpdatedAt: at}
	form := freshScheduleForm
	form.Package, form.Calendars, form.Invalid = "hello", []string{"c1"}, "cron"
	return map[string]struct {
		data any
		ids  []string
	}{
		"schedules": {schedulesData{Rows: []scheduleRow{newScheduleRow(s)}, Filter: scheduleFilter{State: "active"}, States: runners.ScheduleStates,
			Environments: runners.Environments, Next: "/schedules?cursor=x", First: "/schedules", CanCreate: true},
			[]string{"schedules-new-link", "schedules-calendars-link", "schedules-filter", "schedules-filter-state", "schedules-filter-environment",
				"schedules-filter-submit", "schedules-filter-clear", "schedules-table", "schedule-s1", "schedules-next", "schedules-first"}},
		"schedule": {scheduleData{scheduleRow: newScheduleRow(s), Runner: "build-01", Parameters: "{}", Calendars: []calendarRef{{"c1", "holidays"}},
			Next: []nextRow{{Local: "x", UTC: "y", SkippedBy: "c1", Calendar: "holidays"}}, Fires: []fireRow{newFireRow(fire, "UTC")},
			FiresNext: "/schedules/s1?fires_cursor=x", FiresFirst: "/schedules/s1", CanOperate: true, CanAuthor: true, RunKey: "k"},
			[]string{"schedule", "schedule-state", "schedule-name", "schedule-description", "schedule-package", "schedule-environment",
				"schedule-target", "schedule-when", "schedule-zone", "schedule-start", "schedule-end", "schedule-calendars", "schedule-concurrency",
				"schedule-misfire", "schedule-max-attempts", "schedule-timeout", "schedule-next-fire", "schedule-created-by", "schedule-created-at",
				"schedule-updated-at", "schedule-parameters", "schedule-jobs", "schedule-pause-form", "schedule-pause", "schedule-run-form",
				"schedule-run", "schedule-edit", "schedule-delete", "schedule-next", "schedule-fires", "schedule-fires-next", "schedule-fires-first", "schedule-audit"}},
		"schedule_form": {scheduleFormData{Form: form, Action: "/schedules", Choose: "/schedules/new", Packages: []string{"hello"}, Versions: []string{"1.0.0"},
			Environments: runners.Environments, Runners: []runnerChoice{{ID: "r1", Name: "build-01"}}, Calendars: []runners.Calendar{cal},
			Concurrency: concurrencyChoices, Misfire: misfireChoices, Zones: commonZones, Params: paramsBlock{Prefix: "schedule", JSON: "{}"}},
			[]string{"schedule-choose", "schedule-package", "schedule-version", "schedule-choose-submit", "schedule-form", "schedule-name",
				"schedule-description", "schedule-environment", "schedule-runner", "schedule-labels", "schedule-parameters", "schedule-max-attempts",
				"schedule-timeout", "schedule-cron", "schedule-interval", "schedule-time-zone", "schedule-zones", "schedule-start-at", "schedule-end-at",
				"schedule-calendars", "schedule-calendar-c1", "schedule-concurrency", "schedule-misfire", "schedule-paused", "schedule-submit", "schedule-cancel"}},
		"schedule_delete": {s, []string{"schedule-delete-name", "schedule-delete-form", "schedule-delete-confirm", "schedule-delete-cancel"}},
		"calendars": {calendarsData{Rows: []calendarRow{{Calendar: cal, Next: "2026-12-25"}}, Next: "/calendars?cursor=x", First: "/calendars", CanCreate: true},
			[]string{"calendars-new-link", "calendars-schedules-link", "calendars-table", "calendar-c1", "calendars-next", "calendars-first"}},
		"calendar": {calendarData{ID: "c1", Calendar: &cal, Form: calendarForm{Name: "holidays", Dates: "2026-12-25", Invalid: "dates"}, Action: "/calendars/c1",
			UsedBy: []scheduleRow{newScheduleRow(s)}, CanAuthor: true, Zones: commonZones},
			[]string{"calendar", "calendar-zone", "calendar-created-at", "calendar-updated-at", "calendar-dates", "calendar-used-by", "calendar-schedule-s1",
				"calendar-delete", "calendar-form", "calendar-name", "calendar-description", "calendar-time-zone", "calendar-zones", "calendar-dates-input",
				"calendar-submit", "calendar-back"}},
		"calendar_delete": {cal, []string{"calendar-delete-name", "calendar-delete-form", "calendar-delete-confirm", "calendar-delete-cancel"}},
	}
}

func TestScheduleCells(t *testing.T) {
	at := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	s := runners.Schedule{IntervalSeconds: 90, TimeZone: "Europe/Berlin", NextFireAt: &at}
	row := newScheduleRow(s)
	if row.When != "every 90 s" || row.NextLocal != "2026-07-01 02:00 CEST" || row.NextUTC != "2026-07-01 00:00 UTC" || row.LastOutcome != "" {
		t.Fatalf("%+v", row)
	}
	if got := inZone(at, "Nowhere/Special"); got != "2026-07-01 00:00 UTC" {
		t.Fatalf("an unknown zone: %q", got)
	}
	if row := newScheduleRow(runners.Schedule{Cron: "@daily"}); row.When != "@daily" || row.NextLocal != none {
		t.Fatalf("%+v", row)
	}
}

func TestRefusedField(t *testing.T) {
	for msg, want := range map[string]string{
		"cron: expected 5 or 6 fields, found 2":          "cron",
		"time_zone must be an IANA time zone name":       "time_zone",
		"name is in use by another schedule":             "name",
		"unknown time zone name \"Mars/Base\"":           "",
		"end_at must be after start_at":                  "end_at",
		"dates: \"2026-13-01\" is not a date YYYY-MM-DD": "dates",
		"the license does not allow it":                  "",
	} {
		if got := refusedField(msg); got != want {
			t.Errorf("refusedField(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestSplitDates(t *testing.T) {
	got := splitDates("2026-12-25\r\n 2026-12-26 ,2027-01-01;;\n\n")
	if len(got) != 3 || got[0] != "2026-12-25" || got[1] != "2026-12-26" || got[2] != "2027-01-01" {
		t.Fatalf("%q", got)
	}
	if got := splitDates("  "); got == nil || len(got) != 0 {
		t.Fatalf("no dates is an empty list, not null: %#v", got)
	}
}
