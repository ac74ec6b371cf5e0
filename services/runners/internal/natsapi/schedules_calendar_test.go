package natsapi_test

import (
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/google/uuid"
)

// TestCalendars: create, read, list by name, replace, a name unique
// whatever its case, delete; each change audited.
func TestCalendars(t *testing.T) {
	h := newSchedulesHarness(t)
	create := func(name string, dates ...string) runners.Calendar {
		return must[runners.Calendar](t)(call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarCreate,
			runners.CalendarSpec{Name: name, Dates: dates}))
	}
	us := create("US holidays", "2026-12-25", "2026-07-04")
	create("bank days")
	create("Audit")
	if us.TimeZone != "UTC" || !equal(us.Dates, []string{"2026-07-04", "2026-12-25"}) || us.CreatedBy != developer.ID {
		t.Fatalf("created %+v", us)
	}
	_, err := call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarCreate, runners.CalendarSpec{Name: "us HOLIDAYS"})
	wantError(t, err, errs.Conflict, "us HOLIDAYS")

	var names []string
	cursor := ""
	for {
		page := must[runners.ListCalendarsResponse](t)(call[runners.ListCalendarsResponse](as(operator), h.harness,
			runners.SubjectCalendarList, runners.ListCalendarsRequest{Limit: 2, Cursor: cursor}))
		for _, c := range page.Items {
			names = append(names, c.Name)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if !equal(names, []string{"Audit", "bank days", "US holidays"}) {
		t.Fatalf("calendars by name %v", names)
	}

	upd := must[runners.Calendar](t)(call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarUpdate,
		runners.UpdateCalendarRequest{ID: us.ID, Spec: runners.CalendarSpec{Name: "US", TimeZone: "America/New_York",
			Dates: []string{"2027-01-01", "2026-11-26", "2027-01-01"}}}))
	if upd.Name != "US" || upd.TimeZone != "America/New_York" || !equal(upd.Dates, []string{"2026-11-26", "2027-01-01"}) ||
		!upd.CreatedAt.Equal(us.CreatedAt) {
		t.Fatalf("updated %+v", upd)
	}
	got := must[runners.Calendar](t)(call[runners.Calendar](as(operator), h.harness, runners.SubjectCalendarGet, runners.CalendarRequest{ID: us.ID}))
	if got.Name != "US" || !equal(got.Dates, upd.Dates) {
		t.Fatalf("read back %+v", got)
	}
	_, err = call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarUpdate,
		runners.UpdateCalendarRequest{ID: us.ID, Spec: runners.CalendarSpec{Name: "audit"}})
	wantKind(t, err, errs.Conflict)
	_, err = call[runners.Calendar](as(developer), h.harness, runners.SubjectCalendarUpdate,
		runners.UpdateCalendarRequest{ID: uuid.NewString(), Spec: runners.CalendarSpec{Name: "x"}})
	wantKind(t, err, errs.NotFound)
	_, err = call[runners.CalendarDeleted](as(operator), h.harness, runners.SubjectCalendarDelete, runners.CalendarRequest{ID: us.ID})
	wantKind(t, err, errs.PermissionDenied)
	must[runners.CalendarDeleted](t)(call[runners.CalendarDeleted](as(developer), h.harness, runners.SubjectCalendarDelete,
		runners.CalendarRequest{ID: us.ID}))
	_, err = call[runners.Calendar](as(operator), h.harness, runners.SubjectCalendarGet, runners.CalendarRequest{ID: us.ID})
	wantKind(t, err, errs.NotFound)
	_, err = call[runners.Calendar](as(operator), h.harness, runners.SubjectCalendarGet, runners.CalendarRequest{ID: "nope"})
	wantKind(t, err, errs.NotFound)

	var actions []string
	for _, ev := range h.events(t) {
		if ev.Target.ID == us.ID {
			actions = append(actions, ev.Action)
			if ev.Target.Type != "calendar" || ev.Actor.ID != developer.ID {
				t.Fatalf("event %s", ev.Raw)
			}
		}
	}
	if want := []string{runners.ActionCalendarCreate, runners.ActionCalendarUpdate, runners.ActionCalendarDelete}; !equal(actions, want) {
		t.Fatalf("audited %v, want %v", actions, want)
	}
}
