package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

func init() {
	flashes["calendar_created"] = "Calendar created."
	flashes["calendar_updated"] = "Calendar saved; the schedules using it skip by its new dates from their next fire on."
	flashes["calendar_deleted"] = "Calendar deleted."
}

// calendarRow is a calendar in the list.
type calendarRow struct {
	runners.Calendar
	Updated string
	Next    string // its first date from today on, "—" when none
}

type calendarsData struct {
	Rows        []calendarRow
	Next, First string
	CanCreate   bool
}

// calendarsPage lists the calendars (GET /calendars).
func (con *Console) calendarsPage(c *gin.Context) {
	cursor := c.Query("cursor")
	list, err := call[runners.ListCalendarsResponse](c, con, runners.SubjectCalendarList,
		runners.ListCalendarsRequest{Limit: schedulesPageSize, Cursor: cursor})
	status, msg := http.StatusOK, ""
	switch {
	case err == nil:
	case errs.Is(err, errs.InvalidArgument):
		status, msg = statusOf(err), con.inline(c, err)
	default:
		con.fail(c, err)
		return
	}
	d := calendarsData{CanCreate: con.may(c, http.MethodGet, "/calendars/new")}
	today := todayUTC()
	for _, cal := range list.Items {
		row := calendarRow{Calendar: cal, Updated: when(cal.UpdatedAt), Next: none}
		for _, day := range cal.Dates { // sorted
			if day >= today {
				row.Next = day
				break
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if list.NextCursor != "" {
		d.Next = "/calendars?" + url.Values{"cursor": {list.NextCursor}}.Encode()
	}
	if cursor != "" {
		d.First = "/calendars"
	}
	con.show(c, status, "calendars", page{Title: "Calendars", Error: msg, Data: d})
}

// calendarForm holds what was typed into the calendar form.
type calendarForm struct {
	Name, Description, TimeZone, Dates string
	Invalid                            string // the field (JSON name) just refused
}

// Bad reports whether field was just refused.
func (f calendarForm) Bad(field string) bool { return f.Invalid == field }

type calendarData struct {
	ID        string // "" for a new calendar
	Calendar  *runners.Calendar
	Created   string
	Updated   string
	Form      calendarForm
	Action    string
	UsedBy    []scheduleRow // the schedules using it
	UsedError string
	CanAuthor bool
	Zones     []string
}

// newCalendarPage is the form of a new calendar (GET /calendars/new).
func (con *Console) newCalendarPage(c *gin.Context) {
	con.showCalendarForm(c, http.StatusOK, "", nil, calendarForm{TimeZone: "UTC"})
}

// calendarPage shows a calendar, the schedules using it, and its form to
// DEVELOPERs (GET /calendars/:id).
func (con *Console) calendarPage(c *gin.Context) {
	con.showCalendar(c, http.StatusOK, "", nil)
}

// showCalendar shows calendar :id; form, when not nil, is what was typed.
func (con *Console) showCalendar(c *gin.Context, status int, msg string, form *calendarForm) {
	cal, err := call[runners.Calendar](c, con, runners.SubjectCalendarGet, runners.CalendarRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	f := calendarForm{Name: cal.Name, Description: cal.Description, TimeZone: cal.TimeZone, Dates: strings.Join(cal.Dates, "\n")}
	if form != nil {
		f = *form
	}
	con.showCalendarForm(c, status, msg, &cal, f)
}

func (con *Console) showCalendarForm(c *gin.Context, status int, msg string, cal *runners.Calendar, f calendarForm) {
	d := calendarData{Calendar: cal, Form: f, Action: "/calendars", Zones: commonZones,
		CanAuthor: con.may(c, http.MethodPost, "/calendars")}
	title := "New calendar"
	if cal != nil {
		d.ID, d.Created, d.Updated = cal.ID, when(cal.CreatedAt), when(cal.UpdatedAt)
		d.Action, title = "/calendars/"+url.PathEscape(cal.ID), "Calendar "+cal.Name
		list, err := call[runners.ListSchedulesResponse](c, con, runners.SubjectScheduleList,
			runners.ListSchedulesRequest{Limit: schedulesPageSize, CalendarID: cal.ID})
		if err == nil {
			for _, s := range list.Items {
				d.UsedBy = append(d.UsedBy, newScheduleRow(s))
			}
		} else {
			d.UsedError = con.inline(c, err)
		}
	}
	con.show(c, status, "calendar", page{Title: title, Error: msg, Data: d})
}

// todayUTC is today's date in UTC, YYYY-MM-DD.
func todayUTC() string { return time.Now().UTC().Format(time.DateOnly) }

// splitDates reads dates typed one a line or comma separated.
func splitDates(raw string) []string {
	out := []string{}
	for _, d := range strings.FieldsFunc(raw, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' || r == ';' }) {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// saveCalendar creates (id "") or replaces calendar id from the posted form.
func (con *Console) saveCalendar(c *gin.Context, id string) {
	f := calendarForm{Name: strings.TrimSpace(c.PostForm("name")), Description: strings.TrimSpace(c.PostForm("description")),
		TimeZone: strings.TrimSpace(c.PostForm("time_zone")), Dates: c.PostForm("dates")}
	spec := runners.CalendarSpec{Name: f.Name, Description: f.Description, TimeZone: f.TimeZone, Dates: splitDates(f.Dates)}
	var (
		cal   runners.Calendar
		err   error
		flash = "calendar_created"
	)
	if id == "" {
		cal, err = call[runners.Calendar](c, con, runners.SubjectCalendarCreate, spec)
	} else {
		flash = "calendar_updated"
		cal, err = call[runners.Calendar](c, con, runners.SubjectCalendarUpdate, runners.UpdateCalendarRequest{ID: id, Spec: spec})
	}
	if err != nil {
		msg := con.inline(c, err)
		f.Invalid = refusedField(msg)
		if id == "" {
			con.showCalendarForm(c, statusOf(err), msg, nil, f)
		} else {
			con.showCalendar(c, statusOf(err), msg, &f)
		}
		return
	}
	redirect(c, "/calendars/"+url.PathEscape(cal.ID)+"?flash="+flash)
}

func (con *Console) createCalendar(c *gin.Context) { con.saveCalendar(c, "") }

func (con *Console) updateCalendar(c *gin.Context) { con.saveCalendar(c, c.Param("id")) }

// confirmCalendarDelete asks before a calendar is deleted.
func (con *Console) confirmCalendarDelete(c *gin.Context) {
	cal, err := call[runners.Calendar](c, con, runners.SubjectCalendarGet, runners.CalendarRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	con.show(c, http.StatusOK, "calendar_delete", page{Title: "Delete calendar", Data: cal})
}

// deleteCalendar deletes the calendar; one still in use comes back on its
// page with the service's conflict naming the schedules.
func (con *Console) deleteCalendar(c *gin.Context) {
	_, err := call[runners.CalendarDeleted](c, con, runners.SubjectCalendarDelete, runners.CalendarRequest{ID: c.Param("id")})
	if err != nil && !errs.Is(err, errs.NotFound) {
		con.showCalendar(c, statusOf(err), con.inline(c, err), nil)
		return
	}
	redirect(c, "/calendars?flash=calendar_deleted")
}
