package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // schedules show their times in their own zones, whatever the host's zoneinfo holds

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// Pages of schedules.
const (
	schedulesPageSize = 50
	firesPageSize     = 20
)

func init() {
	flashes["schedule_created"] = "Schedule created."
	flashes["schedule_updated"] = "Schedule saved; its coming fire times are computed anew."
	flashes["schedule_paused"] = "Schedule paused: it fires no more until resumed."
	flashes["schedule_resumed"] = "Schedule resumed."
	flashes["schedule_deleted"] = "Schedule deleted; the jobs it started stay."
	flashes["schedule_run"] = "Run now recorded; no job was started: see its outcome in the fire history."
	flashes["schedule_run_job"] = "Run now: job started."
}

// scheduleRow is a schedule with its cells formatted.
type scheduleRow struct {
	runners.Schedule
	When        string // "0 2 * * *" or "every 60 s"
	NextLocal   string // the next fire time in the schedule's zone; "—" when none
	NextUTC     string
	LastOutcome string // "" when it never fired
	LastJob     string // the last fire's job, "" when none
	LastAt      string
}

func newScheduleRow(s runners.Schedule) scheduleRow {
	row := scheduleRow{Schedule: s, When: whenText(s.Cron, s.IntervalSeconds), NextLocal: none, NextUTC: none}
	if s.NextFireAt != nil {
		row.NextLocal, row.NextUTC = inZone(*s.NextFireAt, s.TimeZone), when(*s.NextFireAt)
	}
	if f := s.LastFire; f != nil {
		row.LastOutcome, row.LastAt = f.Outcome, when(f.FireTime)
		if f.JobID != nil {
			row.LastJob = *f.JobID
		}
	}
	return row
}

// whenText shows what a schedule fires by.
func whenText(cron string, interval int) string {
	if cron != "" {
		return cron
	}
	if interval > 0 {
		return fmt.Sprintf("every %d s", interval)
	}
	return none
}

// inZone shows t on the wall clock of the IANA zone tz (UTC when empty or unknown).
func inZone(t time.Time, tz string) string {
	loc, err := time.LoadLocation(cmpOr(tz, "UTC"))
	if err != nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// scheduleFilter is the schedules list's filter.
type scheduleFilter struct{ State, Environment string }

// Any reports whether the filter narrows the list.
func (f scheduleFilter) Any() bool { return f != scheduleFilter{} }

func (f scheduleFilter) values(extra ...string) url.Values {
	v := url.Values{}
	if f.State != "" {
		v.Set("state", f.State)
	}
	if f.Environment != "" {
		v.Set("environment", f.Environment)
	}
	if len(extra) == 2 {
		v.Set(extra[0], extra[1])
	}
	return v
}

type schedulesData struct {
	Rows         []scheduleRow
	Filter       scheduleFilter
	States       []string
	Environments []string
	Next, First  string
	CanCreate    bool // DEVELOPER and up: the new-schedule link
}

// schedulesPage lists schedules, filtered by state and environment (GET /schedules).
func (con *Console) schedulesPage(c *gin.Context) {
	f := scheduleFilter{State: c.Query("state"), Environment: c.Query("environment")}
	cursor := c.Query("cursor")
	d := schedulesData{Filter: f, States: runners.ScheduleStates, Environments: runners.Environments,
		CanCreate: con.may(c, http.MethodGet, "/schedules/new")}
	status, msg := http.StatusOK, ""
	list, err := call[runners.ListSchedulesResponse](c, con, runners.SubjectScheduleList, runners.ListSchedulesRequest{
		Limit: schedulesPageSize, Cursor: cursor, State: f.State, Environment: f.Environment})
	switch {
	case err == nil:
	case errs.Is(err, errs.InvalidArgument):
		status, msg = statusOf(err), con.inline(c, err)
	default:
		con.fail(c, err)
		return
	}
	for _, s := range list.Items {
		d.Rows = append(d.Rows, newScheduleRow(s))
	}
	if list.NextCursor != "" {
		d.Next = "/schedules?" + f.values("cursor", list.NextCursor).Encode()
	}
	if cursor != "" {
		d.First = strings.TrimSuffix("/schedules?"+f.values().Encode(), "?")
	}
	con.show(c, status, "schedules", page{Title: "Schedules", Error: msg, Data: d})
}

// nextRow is one coming fire time.
type nextRow struct {
	Local, UTC string
	ISO        string // RFC 3339 UTC
	SkippedBy  string // the calendar that skips it: its id, "" when none
	Calendar   string // …and its name
}

// fireRow is one fire, formatted.
type fireRow struct {
	runners.ScheduleFire
	At    string
	Local string
	Job   string // "" when none
	Lag   string // "—" without a job
}

func newFireRow(f runners.ScheduleFire, tz string) fireRow {
	row := fireRow{ScheduleFire: f, At: when(f.FireTime), Local: inZone(f.FireTime, tz), Lag: none}
	if f.JobID != nil {
		row.Job = *f.JobID
	}
	if f.LagSeconds != nil {
		row.Lag = fmt.Sprintf("%.1f s", *f.LagSeconds)
	}
	return row
}

// calendarRef names a calendar a schedule uses.
type calendarRef struct{ ID, Name string }

type scheduleData struct {
	scheduleRow
	Runner        string // the target runner's name, "" when none
	CreatedByName string
	Created       string
	Updated       string
	StartAt       string
	EndAt         string
	Parameters    string // indented JSON; "" when none
	Calendars     []calendarRef
	Next          []nextRow
	NextError     string
	Fires         []fireRow
	FiresError    string
	FiresNext     string // the next page of the fire history
	FiresFirst    string
	CanOperate    bool // pause, resume, run now
	CanAuthor     bool // edit, delete
	RunKey        string
}

// schedulePage shows one schedule: details, coming fire times, fire history
// (GET /schedules/:id).
func (con *Console) schedulePage(c *gin.Context) {
	con.showSchedule(c, http.StatusOK, "")
}

func (con *Console) showSchedule(c *gin.Context, status int, msg string) {
	s, err := call[runners.Schedule](c, con, runners.SubjectScheduleGet, runners.ScheduleRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	n := con.lookupNames(c)
	d := scheduleData{scheduleRow: newScheduleRow(s), CreatedByName: n.user(s.CreatedBy), Created: when(s.CreatedAt), Updated: when(s.UpdatedAt),
		StartAt: when(s.StartAt), EndAt: when(s.EndAt), RunKey: uuid.NewString(),
		CanOperate: con.may(c, http.MethodPost, "/schedules/:id/run"), CanAuthor: con.may(c, http.MethodGet, "/schedules/:id/edit")}
	if s.RunnerID != nil && *s.RunnerID != "" {
		d.Runner = n.runner(*s.RunnerID)
	}
	if len(s.Parameters) > 0 && string(s.Parameters) != "null" {
		var buf bytes.Buffer
		if json.Indent(&buf, s.Parameters, "", "  ") == nil {
			d.Parameters = buf.String()
		}
	}
	calNames := con.calendarNames(c)
	for _, id := range s.CalendarIDs {
		d.Calendars = append(d.Calendars, calendarRef{ID: id, Name: cmpOr(calNames[id], id)})
	}
	if next, err := call[runners.NextFires](c, con, runners.SubjectScheduleNext,
		runners.NextFiresRequest{ID: s.ID, Count: runners.DefaultNextFires}); err == nil {
		for _, f := range next.Items {
			row := nextRow{Local: inZone(f.At, cmpOr(next.TimeZone, s.TimeZone)), UTC: when(f.At), ISO: f.At.UTC().Format(time.RFC3339)}
			if f.SkippedByCalendar != nil {
				row.SkippedBy, row.Calendar = *f.SkippedByCalendar, cmpOr(calNames[*f.SkippedByCalendar], *f.SkippedByCalendar)
			}
			d.Next = append(d.Next, row)
		}
	} else {
		d.NextError = con.inline(c, err)
	}
	cursor := c.Query("fires_cursor")
	if fires, err := call[runners.ListFiresResponse](c, con, runners.SubjectScheduleFires,
		runners.ListFiresRequest{ScheduleID: s.ID, Limit: firesPageSize, Cursor: cursor}); err == nil {
		for _, f := range fires.Items {
			d.Fires = append(d.Fires, newFireRow(f, s.TimeZone))
		}
		base := "/schedules/" + url.PathEscape(s.ID)
		if fires.NextCursor != "" {
			d.FiresNext = base + "?" + url.Values{"fires_cursor": {fires.NextCursor}}.Encode() + "#schedule-fires"
		}
		if cursor != "" {
			d.FiresFirst = base + "#schedule-fires"
		}
	} else {
		d.FiresError = con.inline(c, err)
	}
	con.show(c, status, "schedule", page{Title: "Schedule " + s.Name, Error: msg, Data: d})
}

// calendarNames maps calendar ids to names; empty when the service does not answer.
func (con *Console) calendarNames(c *gin.Context) map[string]string {
	out := map[string]string{}
	for _, cal := range con.allCalendars(c) {
		out[cal.ID] = cal.Name
	}
	return out
}

// allCalendars are the calendars, by name (at most 1,000); nil when the service does not answer.
func (con *Console) allCalendars(c *gin.Context) []runners.Calendar {
	var out []runners.Calendar
	cursor := ""
	for range 2 {
		list, err := call[runners.ListCalendarsResponse](c, con, runners.SubjectCalendarList, runners.ListCalendarsRequest{Limit: 500, Cursor: cursor})
		if err != nil {
			break
		}
		out = append(out, list.Items...)
		if cursor = list.NextCursor; cursor == "" {
			break
		}
	}
	return out
}

// scheduleAction pauses, resumes or deletes the schedule, then goes to next
// with flash; a refusal is shown on the schedule's page.
func (con *Console) scheduleAction(subject, flash string) gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.Param("id")
		_, err := call[json.RawMessage](c, con, subject, runners.ScheduleRequest{ID: id})
		deleted := subject == runners.SubjectScheduleDelete
		if err != nil && !(deleted && errs.Is(err, errs.NotFound)) {
			con.showSchedule(c, statusOf(err), con.inline(c, err)) // a schedule that is gone shows as such
			return
		}
		if deleted {
			redirect(c, "/schedules?flash="+flash)
			return
		}
		redirect(c, "/schedules/"+url.PathEscape(id)+"?flash="+flash)
	}
}

// runSchedule runs the schedule now and opens the job it started, else the
// schedule's page (the fire's outcome says why no job was started).
func (con *Console) runSchedule(c *gin.Context) {
	id := c.Param("id")
	fire, err := call[runners.ScheduleFire](c, con, runners.SubjectScheduleRun,
		runners.RunScheduleRequest{ID: id, IdempotencyKey: c.PostForm("idempotency_key")})
	if err != nil {
		con.showSchedule(c, statusOf(err), con.inline(c, err)) // a schedule that is gone shows as such
		return
	}
	if fire.JobID != nil && *fire.JobID != "" {
		redirect(c, "/jobs/"+url.PathEscape(*fire.JobID)+"?flash=schedule_run_job")
		return
	}
	redirect(c, "/schedules/"+url.PathEscape(id)+"?flash=schedule_run#schedule-fires")
}

// confirmScheduleDelete asks before a schedule is deleted.
func (con *Console) confirmScheduleDelete(c *gin.Context) {
	s, err := call[runners.Schedule](c, con, runners.SubjectScheduleGet, runners.ScheduleRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	con.show(c, http.StatusOK, "schedule_delete", page{Title: "Delete schedule", Data: s})
}
