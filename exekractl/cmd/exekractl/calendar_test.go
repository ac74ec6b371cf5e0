package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestCalendarCreateFromDatesFile(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	f := writeFile(t, "# US federal holidays\n2026-12-25  # Christmas\n\n2026-07-03\n2026-07-03\n")
	out, err := runCLI(t, hub, "calendar", "create", "--name", "us-holidays", "--time-zone", "America/New_York", "--dates-file", f)
	if err != nil {
		t.Fatal(err)
	}
	if h.calSpec.Name != "us-holidays" || h.calSpec.TimeZone != "America/New_York" || strings.Join(h.calSpec.Dates, ",") != "2026-07-03,2026-12-25" {
		t.Errorf("spec %+v", h.calSpec)
	}
	if !strings.Contains(out, "dates:") || !strings.Contains(out, "  2026-12-25") {
		t.Errorf("output:\n%s", out)
	}
	if _, err := runCLI(t, hub, "calendar", "create", "--name", "x", "--date", "2026-02-30"); err == nil || !strings.Contains(err.Error(), `"2026-02-30" is not a date`) {
		t.Errorf("bad date: %v", err)
	}
	bad := writeFile(t, "2026-01-01\n01/02/2026\n")
	if _, err := runCLI(t, hub, "calendar", "create", "--name", "x", "--dates-file", bad); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad dates file: %v", err)
	}
	if _, err := runCLI(t, hub, "calendar", "create", "--name", "x"); err == nil || !strings.Contains(err.Error(), "non-working days") {
		t.Errorf("no dates: %v", err)
	}
	if _, err := runCLI(t, hub, "calendar", "create", "--date", "2026-01-01"); err == nil || !strings.Contains(err.Error(), "--name is required") {
		t.Errorf("no name: %v", err)
	}
}

func TestCalendarUpdateByName(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	// A name is not an id (404): it is found in the list, then PUT by id with the dates changed.
	if _, err := runCLI(t, hub, "calendar", "update", "us-holidays", "--add-date", "2026-11-26", "--remove-date", "2026-07-03"); err != nil {
		t.Fatal(err)
	}
	if h.calSpec.Name != "us-holidays" || h.calSpec.TimeZone != "America/New_York" || strings.Join(h.calSpec.Dates, ",") != "2026-11-26,2026-12-25" {
		t.Errorf("spec %+v", h.calSpec)
	}
	if last := h.requests[len(h.requests)-1]; last != "PUT /api/v1/calendars/cal-us" {
		t.Errorf("last request %s", last)
	}
	if _, err := runCLI(t, hub, "calendar", "update", "cal-us", "--date", "2027-01-01", "--name", "us"); err != nil {
		t.Fatal(err)
	}
	if h.calSpec.Name != "us" || strings.Join(h.calSpec.Dates, ",") != "2027-01-01" {
		t.Errorf("replaced spec %+v", h.calSpec)
	}
	if _, err := runCLI(t, hub, "calendar", "update", "fr-holidays", "--date", "2027-01-01"); err == nil || !strings.Contains(err.Error(), `no calendar has the id or name "fr-holidays"`) {
		t.Errorf("unknown calendar: %v", err)
	}
}

func TestCalendarShowListDelete(t *testing.T) {
	h := newScheduleHub()
	hub := newFakeHub(t, h)
	out, err := runCLI(t, hub, "calendar", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "cal-de") || !strings.Contains(out, "us-holidays") || !strings.Contains(out, "2026-07-03") {
		t.Errorf("list (two pages):\n%s", out)
	}
	out, err = runCLI(t, hub, "calendar", "show", "us-holidays")
	if err != nil || !strings.Contains(out, "cal-us") || !strings.Contains(out, "  2026-07-03\n") {
		t.Errorf("show: %v\n%s", err, out)
	}
	// In use: the Hub's conflict names the schedules.
	_, err = runCLI(t, hub, "calendar", "delete", "cal-us")
	if err == nil || err.Error() != "delete calendar us-holidays: conflict (HTTP 409): calendar us-holidays is used by schedules: nightly" {
		t.Errorf("delete in use: %v", err)
	}
	if err := run(context.Background(), []string{"calendar"}, io.Discard); err == nil || !strings.Contains(err.Error(), "needs a subcommand") {
		t.Errorf("no subcommand: %v", err)
	}
}
