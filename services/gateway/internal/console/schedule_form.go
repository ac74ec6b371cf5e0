package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// commonZones are offered beside the time zone field; any IANA name may be typed.
var commonZones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin", "Europe/Madrid",
	"Europe/Rome", "Europe/Amsterdam", "Europe/Brussels", "Europe/Zurich", "Europe/Vienna", "Europe/Stockholm", "Europe/Warsaw",
	"Europe/Prague", "Europe/Athens", "Europe/Helsinki", "Europe/Istanbul", "Europe/Moscow", "Africa/Johannesburg", "Africa/Cairo",
	"Africa/Lagos", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Tokyo", "Asia/Seoul",
	"Australia/Sydney", "Australia/Perth", "Pacific/Auckland", "America/New_York", "America/Chicago", "America/Denver",
	"America/Los_Angeles", "America/Toronto", "America/Mexico_City", "America/Sao_Paulo", "America/Argentina/Buenos_Aires"}

// policyChoice is one option of a policy select, with what it does.
type policyChoice struct{ Value, Label string }

var (
	concurrencyChoices = []policyChoice{
		{runners.ConcurrencySkip, "skip: a fire while the previous job is still live is recorded as skipped (the default)"},
		{runners.ConcurrencyQueue, "queue: the fire waits for the previous job to end (at most 10 wait)"},
		{runners.ConcurrencyAllow, "allow: the job starts beside the previous one"},
	}
	misfireChoices = []policyChoice{
		{runners.MisfireFireOnce, "fire once: after the Hub was down, the latest missed time fires now, the others are recorded as missed (the default)"},
		{runners.MisfireSkip, "skip: every missed time is recorded as missed; the next one fires on time"},
	}
)

// scheduleForm holds what was typed into the schedule form.
type scheduleForm struct {
	Name, Description, Package, Version, Environment, Runner, Labels string
	Parameters                                                       string            // the JSON box (a version that declares no parameters)
	Values                                                           map[string]string // declared parameters, by name
	MaxAttempts, Timeout                                             string
	Cron, Interval, TimeZone, StartAt, EndAt                         string // StartAt, EndAt: datetime-local, UTC
	Calendars                                                        []string
	Concurrency, Misfire                                             string
	Paused                                                           bool
	Invalid                                                          string // the spec field (its JSON name) just refused, marked aria-invalid
	InvalidParam                                                     string // the declared parameter just refused
}

// Bad reports whether field (a JSON name of the spec) was just refused.
func (f scheduleForm) Bad(field string) bool { return f.Invalid == field }

// Checked reports whether calendar id is ticked.
func (f scheduleForm) Checked(id string) bool { return slices.Contains(f.Calendars, id) }

var freshScheduleForm = scheduleForm{Version: "latest", Environment: runners.EnvDevelopment, Parameters: "{}",
	TimeZone: "UTC", Concurrency: runners.ConcurrencySkip, Misfire: runners.MisfireFireOnce}

// formOf is the form holding schedule s as it is.
func formOf(s runners.Schedule) scheduleForm {
	f := scheduleForm{Name: s.Name, Description: s.Description, Package: s.Package, Version: cmpOr(s.Version, "latest"),
		Environment: s.Environment, Labels: strings.Join(s.Labels, ", "), Cron: s.Cron, TimeZone: s.TimeZone,
		Calendars: slices.Clone(s.CalendarIDs), Concurrency: s.Concurrency, Misfire: s.Misfire, Values: map[string]string{}, Parameters: "{}"}
	if s.RunnerID != nil {
		f.Runner = *s.RunnerID
	}
	if s.MaxAttempts > 0 {
		f.MaxAttempts = strconv.Itoa(s.MaxAttempts)
	}
	if s.TimeoutSeconds > 0 {
		f.Timeout = strconv.Itoa(s.TimeoutSeconds)
	}
	if s.IntervalSeconds > 0 {
		f.Interval = strconv.Itoa(s.IntervalSeconds)
	}
	if s.StartAt != nil {
		f.StartAt = s.StartAt.UTC().Format("2006-01-02T15:04")
	}
	if s.EndAt != nil {
		f.EndAt = s.EndAt.UTC().Format("2006-01-02T15:04")
	}
	if len(s.Parameters) > 0 && string(s.Parameters) != "null" {
		f.Parameters = string(s.Parameters)
		var params map[string]json.RawMessage
		if json.Unmarshal(s.Parameters, &params) == nil {
			for k, v := range params {
				var str string
				if json.Unmarshal(v, &str) == nil {
					f.Values[k] = str
				} else {
					f.Values[k] = string(v)
				}
			}
		}
	}
	return f
}

type scheduleFormData struct {
	Form         scheduleForm
	ID           string // "" for a new schedule
	Action       string // where the form posts
	Choose       string // where the package chooser goes (GET)
	Packages     []string
	Versions     []string // of Form.Package, newest first
	Environments []string
	Runners      []runnerChoice
	Calendars    []runners.Calendar
	Concurrency  []policyChoice
	Misfire      []policyChoice
	Zones        []string
	Params       paramsBlock
}

// newSchedulePage is the form of a new schedule (GET /schedules/new?package=&version=).
func (con *Console) newSchedulePage(c *gin.Context) {
	f := freshScheduleForm
	f.Package = c.Query("package")
	f.Version = cmpOr(c.Query("version"), f.Version)
	con.showScheduleForm(c, http.StatusOK, "", "", f)
}

// editSchedulePage is the form of schedule :id as it is (GET /schedules/:id/edit?package=&version=).
func (con *Console) editSchedulePage(c *gin.Context) {
	s, err := call[runners.Schedule](c, con, runners.SubjectScheduleGet, runners.ScheduleRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	f := formOf(s)
	if p := c.Query("package"); p != "" && p != f.Package {
		f.Package, f.Version, f.Values = p, "latest", map[string]string{}
	}
	f.Version = cmpOr(c.Query("version"), f.Version)
	con.showScheduleForm(c, http.StatusOK, "", s.ID, f)
}

// showScheduleForm renders the schedule form (id "" for a new one) with msg as its error.
func (con *Console) showScheduleForm(c *gin.Context, status int, msg, id string, f scheduleForm) {
	d := scheduleFormData{Form: f, ID: id, Action: "/schedules", Choose: "/schedules/new", Environments: runners.Environments,
		Concurrency: concurrencyChoices, Misfire: misfireChoices, Zones: commonZones, Packages: con.packageNames(c)}
	title := "New schedule"
	if id != "" {
		d.Action = "/schedules/" + url.PathEscape(id) + "/edit"
		d.Choose, title = d.Action, "Edit schedule "+f.Name
	}
	if d.Form.Package == "" && len(d.Packages) > 0 {
		d.Form.Package = d.Packages[0]
	}
	if d.Form.Package != "" {
		if vs, err := call[runners.PackageVersions](c, con, runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: d.Form.Package}); err == nil {
			for _, v := range vs.Items {
				d.Versions = append(d.Versions, v.Version)
			}
		}
	}
	d.Params = con.paramsBlock(c, "schedule", d.Form.Package, d.Form.Version, f.Values, f.InvalidParam, f.Parameters)
	d.Runners = con.runnerChoices(c)
	d.Calendars = con.allCalendars(c)
	con.show(c, status, "schedule_form", page{Title: title, Error: msg, Data: d})
}

// readScheduleForm reads the posted form into f and the spec it asks for;
// an error names the field refused (f.Invalid or f.InvalidParam).
func (con *Console) readScheduleForm(c *gin.Context, f *scheduleForm) (runners.ScheduleSpec, error) {
	post := func(k string) string { return strings.TrimSpace(c.PostForm(k)) }
	*f = scheduleForm{Name: post("name"), Description: post("description"), Package: post("package"), Version: post("version"),
		Environment: post("environment"), Runner: post("runner_id"), Labels: post("labels"), Parameters: c.PostForm("parameters"),
		Values: map[string]string{}, MaxAttempts: post("max_attempts"), Timeout: post("timeout_seconds"), Cron: post("cron"),
		Interval: post("interval_seconds"), TimeZone: post("time_zone"), StartAt: post("start_at"), EndAt: post("end_at"),
		Calendars: c.PostFormArray("calendar_ids"), Concurrency: post("concurrency"), Misfire: post("misfire"), Paused: c.PostForm("paused") == "true"}
	spec := runners.ScheduleSpec{Name: f.Name, Description: f.Description, Package: f.Package, Version: f.Version, Environment: f.Environment,
		RunnerID: f.Runner, Labels: splitLabels(f.Labels), Cron: f.Cron, TimeZone: f.TimeZone, CalendarIDs: f.Calendars,
		Concurrency: f.Concurrency, Misfire: f.Misfire, Paused: f.Paused}
	var err error
	for _, n := range []struct {
		field, raw string
		dst        *int
	}{{"max_attempts", f.MaxAttempts, &spec.MaxAttempts}, {"timeout_seconds", f.Timeout, &spec.TimeoutSeconds}, {"interval_seconds", f.Interval, &spec.IntervalSeconds}} {
		if n.raw == "" {
			continue
		}
		if *n.dst, err = strconv.Atoi(n.raw); err != nil || *n.dst < 0 {
			f.Invalid = n.field
			return spec, errs.Ef(errs.InvalidArgument, "%s must be a whole number, not %q.", n.field, n.raw)
		}
	}
	for _, t := range []struct {
		field, raw string
		dst        **time.Time
	}{{"start_at", f.StartAt, &spec.StartAt}, {"end_at", f.EndAt, &spec.EndAt}} {
		at, err := parseUTC(t.field, t.raw)
		if err != nil {
			f.Invalid = t.field
			return spec, err
		}
		if !at.IsZero() {
			*t.dst = &at
		}
	}
	params, err := con.readParams(c, f.Package, f.Version, f.Values, &f.InvalidParam, f.Parameters)
	if err != nil {
		if f.InvalidParam == "" {
			f.Invalid = "parameters"
		}
		return spec, err
	}
	spec.Parameters = params
	return spec, nil
}

// specFields are the JSON names of the spec's fields, as a service's message names them.
var specFields = regexp.MustCompile(`\b(name|description|package|version|environment|runner_id|labels|parameters|max_attempts|timeout_seconds|` +
	`cron|interval_seconds|time_zone|start_at|end_at|calendar_ids|concurrency|misfire|dates)\b`)

// refusedField is the field a service's message names first, "" when none.
// "name" counts only at the start ("name is in use"), so that "an IANA time
// zone name" does not point at the schedule's name.
func refusedField(msg string) string {
	for _, m := range specFields.FindAllStringIndex(msg, -1) {
		if field := msg[m[0]:m[1]]; field != "name" || m[0] == 0 {
			return field
		}
	}
	return ""
}

// saveSchedule creates (id "") or replaces schedule id from the posted form.
func (con *Console) saveSchedule(c *gin.Context, id string) {
	var f scheduleForm
	spec, err := con.readScheduleForm(c, &f)
	if err != nil {
		con.showScheduleForm(c, statusOf(err), con.inline(c, err), id, f)
		return
	}
	var s runners.Schedule
	flash := "schedule_created"
	if id == "" {
		s, err = call[runners.Schedule](c, con, runners.SubjectScheduleCreate, spec)
	} else {
		flash = "schedule_updated"
		s, err = call[runners.Schedule](c, con, runners.SubjectScheduleUpdate, runners.UpdateScheduleRequest{ID: id, Spec: spec})
	}
	if err != nil {
		msg := con.inline(c, err)
		if f.InvalidParam = refusedParam(msg, f.Values); f.InvalidParam == "" {
			f.Invalid = refusedField(msg)
		}
		con.showScheduleForm(c, statusOf(err), msg, id, f)
		return
	}
	redirect(c, "/schedules/"+url.PathEscape(s.ID)+"?flash="+flash)
}

func (con *Console) createSchedule(c *gin.Context) { con.saveSchedule(c, "") }

func (con *Console) updateSchedule(c *gin.Context) { con.saveSchedule(c, c.Param("id")) }
