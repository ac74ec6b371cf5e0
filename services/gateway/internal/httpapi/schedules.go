package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// Tags of schedules and calendars.
const (
	tagSchedules = "Schedules"
	tagCalendars = "Calendars"
)

// Parameters of the schedule and calendar routes.
var (
	paramScheduleState = Param{In: "query", Name: "state", Description: "Only schedules in this state.", Schema: enumSchema(runners.ScheduleStates)}
	paramSchedulePkg   = Param{In: "query", Name: "package", Description: "Only schedules of this package (its name).", Schema: stringSchema("", "")}
	paramScheduleCal   = Param{In: "query", Name: "calendar_id", Description: "Only schedules using this calendar.", Schema: stringSchema("", "")}
	paramNextCount     = Param{In: "query", Name: "count", Description: "How many coming fire times.",
		Schema: intSchema(1, runners.MaxNextFires, runners.DefaultNextFires)}
	paramFireOutcome = Param{In: "query", Name: "outcome", Description: "Only fires of this outcome.", Schema: enumSchema(runners.FireOutcomes)}
	paramFireSince   = Param{In: "query", Name: "since", Description: "Only fires due at or after this time (RFC 3339).", Schema: stringSchema("date-time", "")}
	paramFireUntil   = Param{In: "query", Name: "until", Description: "Only fires due at or before this time (RFC 3339).", Schema: stringSchema("date-time", "")}
	paramJobSchedule = Param{In: "query", Name: "schedule_id", Description: "Only jobs this schedule started.", Schema: stringSchema("", "")}
	paramRunKey      = Param{In: "header", Name: runners.HeaderIdempotencyKey, Schema: stringSchema("", ""),
		Description: "A client's key for this run: a repeat by the same user with the same key returns the fire the first request made (201) instead of starting another job; the same key used for another schedule is a conflict."}
)

// scheduleRoutes are the route table's entries of schedules and calendars.
// Reading, pausing, resuming and running take OPERATOR; authoring takes
// DEVELOPER, since a schedule starts jobs unattended for as long as it lives.
func (s *Server) scheduleRoutes() []Route {
	const audited = " Audited as "
	return []Route{
		{Method: http.MethodGet, Path: runners.PathSchedules, Summary: "List schedules", Access: Operator, Handle: s.listSchedules,
			ID: "listSchedules", Tag: tagSchedules,
			Description: "A page of schedules, by name, filtered by state, environment, package or calendar. An unknown state or environment is a 400 invalid_argument.",
			Params:      append(slices.Clone(paramsPage), paramScheduleState, paramEnvironment, paramSchedulePkg, paramScheduleCal),
			Replies:     []Reply{jsonReply[runners.ListSchedulesResponse](http.StatusOK, "A page of schedules; next_cursor is empty after the last.")}},
		{Method: http.MethodPost, Path: runners.PathSchedules, Summary: "Create a schedule", Access: Developer, Handle: s.createSchedule,
			ID: "createSchedule", Tag: tagSchedules,
			Description: "Creates a schedule that starts jobs of a package on its own: by a cron expression read in time_zone, or every interval_seconds (exactly one of the two). " +
				"A bad cron expression, time zone, interval, policy, an end before the start or parameters the package's declaration refuses are a 400 invalid_argument naming the field; " +
				"an unknown package or version is a 404 (a calendar_ids entry naming no calendar, a 400); a name in use is a 409 conflict." +
				audited + runners.ActionScheduleCreate + ".",
			Body:    jsonBody[runners.ScheduleSpec](),
			Replies: []Reply{jsonReply[runners.Schedule](http.StatusCreated, "The new schedule, with its next fire time.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodGet, Path: runners.PathSchedule, Summary: "Read a schedule", Access: Operator, Handle: s.getSchedule,
			ID: "getSchedule", Tag: tagSchedules, Description: "One schedule: its spec with the defaults filled in, its state, next fire time and last fire.",
			Replies: []Reply{jsonReply[runners.Schedule](http.StatusOK, "The schedule.")}},
		{Method: http.MethodPut, Path: runners.PathSchedule, Summary: "Replace a schedule's spec", Access: Developer, Handle: s.updateSchedule,
			ID: "updateSchedule", Tag: tagSchedules,
			Description: "Replaces the schedule's spec whole (fields left out take their defaults); its state is kept unless paused is sent true, and an ended schedule given a later end_at is active again. " +
				"The coming fire times are computed anew; the jobs already started are untouched. The same 400, 404 and 409 answers as a create." +
				audited + runners.ActionScheduleUpdate + ".",
			Body:    jsonBody[runners.ScheduleSpec](),
			Replies: []Reply{jsonReply[runners.Schedule](http.StatusOK, "The schedule as changed.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodDelete, Path: runners.PathSchedule, Summary: "Delete a schedule", Access: Developer, Handle: s.deleteSchedule,
			ID: "deleteSchedule", Tag: tagSchedules,
			Description: "Deletes the schedule: it fires no more. The jobs it started stay, their schedule_name becoming null." + audited + runners.ActionScheduleDelete + ".",
			Replies:     []Reply{emptyReply(http.StatusNoContent, "The schedule is gone.")}},
		{Method: http.MethodPost, Path: runners.PathSchedulePause, Summary: "Pause a schedule", Access: Operator, Handle: s.pauseSchedule,
			ID: "pauseSchedule", Tag: tagSchedules,
			Description: "The schedule stops firing until resumed; pausing a paused schedule changes nothing. An ended schedule is a 409 conflict (give it a later end_at instead)." +
				audited + runners.ActionSchedulePause + ".",
			Replies: []Reply{jsonReply[runners.Schedule](http.StatusOK, "The schedule, paused.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodPost, Path: runners.PathScheduleResume, Summary: "Resume a paused schedule", Access: Operator, Handle: s.resumeSchedule,
			ID: "resumeSchedule", Tag: tagSchedules,
			Description: "The schedule fires again from its next fire time after now: the times that passed while it was paused are not made up. " +
				"Resuming an active schedule changes nothing; an ended one is a 409 conflict." + audited + runners.ActionScheduleResume + ".",
			Replies: []Reply{jsonReply[runners.Schedule](http.StatusOK, "The schedule, active.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodPost, Path: runners.PathScheduleRun, Summary: "Run a schedule now", Access: Operator, Handle: s.runSchedule, Scope: identity.ScopeRun,
			ID: "runSchedule", Tag: tagSchedules,
			Description: "Starts the schedule's job now, as the signed-in caller: a fire of kind manual, answered with its outcome (job_created and its job_id, or why no job was created). " +
				"With an Idempotency-Key, a repeat returns the first request's fire, and the key reused for another schedule is a 409 conflict. " +
				"An asset the package declares without a value that could reach the job is a 409 asset_missing naming the asset and the environment." +
				audited + runners.ActionScheduleRun + " (its job as job.create with schedule_id).",
			Params:  []Param{paramRunKey},
			Replies: []Reply{jsonReply[runners.ScheduleFire](http.StatusCreated, "The fire, with its job_id when a job was created (the first request's, for a repeated Idempotency-Key).")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodGet, Path: runners.PathScheduleNext, Summary: "A schedule's coming fire times (?count=)", Access: Operator, Handle: s.nextFires,
			ID: "listNextFires", Tag: tagSchedules,
			Description: "The schedule's next fire times from now, in UTC and in its time zone, each with the calendar that will skip it, if any; none while it is paused or ended. " +
				"A count out of range is a 400 invalid_argument.",
			Params:  []Param{paramNextCount},
			Replies: []Reply{jsonReply[runners.NextFires](http.StatusOK, "The coming fire times, soonest first.")}},
		{Method: http.MethodGet, Path: runners.PathScheduleFires, Summary: "A schedule's fire history", Access: Operator, Handle: s.scheduleFires,
			ID: "listScheduleFires", Tag: tagSchedules,
			Description: "A page of the schedule's fires, newest fire time first: each with its outcome, why, its job and its lag. An unknown outcome is a 400 invalid_argument.",
			Params:      append(slices.Clone(paramsPage), paramFireOutcome),
			Replies:     []Reply{jsonReply[runners.ListFiresResponse](http.StatusOK, "A page of fires; next_cursor is empty after the last.")}},
		{Method: http.MethodGet, Path: runners.PathFires, Summary: "Fires of every schedule", Access: Operator, Handle: s.listFires,
			ID: "listFires", Tag: tagSchedules,
			Description: "A page of the fires of every schedule, newest fire time first, filtered by outcome and by fire time (since and until, inclusive, RFC 3339). " +
				"An unknown outcome, a time that is not RFC 3339 or an until before since is a 400 invalid_argument.",
			Params:  append(slices.Clone(paramsPage), paramFireOutcome, paramFireSince, paramFireUntil),
			Replies: []Reply{jsonReply[runners.ListFiresResponse](http.StatusOK, "A page of fires; next_cursor is empty after the last.")}},
		{Method: http.MethodGet, Path: runners.PathCalendars, Summary: "List calendars", Access: Operator, Handle: s.listCalendars,
			ID: "listCalendars", Tag: tagCalendars, Description: "A page of calendars of non-working days, by name.",
			Params:  paramsPage,
			Replies: []Reply{jsonReply[runners.ListCalendarsResponse](http.StatusOK, "A page of calendars; next_cursor is empty after the last.")}},
		{Method: http.MethodPost, Path: runners.PathCalendars, Summary: "Create a calendar", Access: Developer, Handle: s.createCalendar,
			ID: "createCalendar", Tag: tagCalendars,
			Description: "Creates a calendar of non-working days: a schedule using it skips every fire time whose date, in the calendar's time zone, is one of its dates. " +
				"A date that is not YYYY-MM-DD, an unknown time zone or too many dates is a 400 invalid_argument; a name in use is a 409 conflict." +
				audited + runners.ActionCalendarCreate + ".",
			Body:    jsonBody[runners.CalendarSpec](),
			Replies: []Reply{jsonReply[runners.Calendar](http.StatusCreated, "The new calendar, its dates sorted without repeats.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodGet, Path: runners.PathCalendar, Summary: "Read a calendar", Access: Operator, Handle: s.getCalendar,
			ID: "getCalendar", Tag: tagCalendars, Description: "One calendar and its dates (list the schedules using it with GET /api/v1/schedules?calendar_id=).",
			Replies: []Reply{jsonReply[runners.Calendar](http.StatusOK, "The calendar.")}},
		{Method: http.MethodPut, Path: runners.PathCalendar, Summary: "Replace a calendar", Access: Developer, Handle: s.updateCalendar,
			ID: "updateCalendar", Tag: tagCalendars,
			Description: "Replaces the calendar whole; the schedules using it skip by its new dates from their next fire on. The same 400 and 409 answers as a create." +
				audited + runners.ActionCalendarUpdate + ".",
			Body:    jsonBody[runners.CalendarSpec](),
			Replies: []Reply{jsonReply[runners.Calendar](http.StatusOK, "The calendar as changed.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodDelete, Path: runners.PathCalendar, Summary: "Delete a calendar no schedule uses", Access: Developer, Handle: s.deleteCalendar,
			ID: "deleteCalendar", Tag: tagCalendars,
			Description: "Deletes the calendar. One that schedules still use is a 409 conflict naming them: take it off those schedules first." +
				audited + runners.ActionCalendarDelete + ".",
			Replies: []Reply{emptyReply(http.StatusNoContent, "The calendar is gone.")},
			Errors:  []int{http.StatusConflict}},
	}
}

// queryEnum reads an optional query parameter that must be one of values.
func queryEnum(c *gin.Context, name string, values []string) (string, error) {
	v := c.Query(name)
	if v != "" && !slices.Contains(values, v) {
		return "", errs.Ef(errs.InvalidArgument, "%s must be one of %s, not %q", name, strings.Join(values, ", "), v)
	}
	return v, nil
}

// queryTime reads an optional RFC 3339 query parameter.
func queryTime(c *gin.Context, name string) (time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return time.Time{}, errs.Ef(errs.InvalidArgument, "%s must be an RFC 3339 time such as 2026-01-02T15:04:05Z, not %q", name, raw)
	}
	return t.UTC(), nil
}

func (s *Server) listSchedules(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	state, err := queryEnum(c, "state", runners.ScheduleStates)
	if err != nil {
		return err
	}
	env, err := queryEnum(c, "environment", runners.Environments)
	if err != nil {
		return err
	}
	req := runners.ListSchedulesRequest{Limit: limit, Cursor: c.Query("cursor"), State: state, Environment: env,
		Package: c.Query("package"), CalendarID: c.Query("calendar_id")}
	return forward(c, s, runners.SubjectScheduleList, req, http.StatusOK)
}

func (s *Server) createSchedule(c *gin.Context) error {
	return decodeAndForward[runners.ScheduleSpec](c, s, runners.SubjectScheduleCreate, http.StatusCreated)
}

func (s *Server) getSchedule(c *gin.Context) error {
	return forward(c, s, runners.SubjectScheduleGet, runners.ScheduleRequest{ID: c.Param("id")}, http.StatusOK)
}

func (s *Server) updateSchedule(c *gin.Context) error {
	var spec runners.ScheduleSpec
	if err := web.DecodeJSON(c, &spec); err != nil {
		return err
	}
	return forward(c, s, runners.SubjectScheduleUpdate, runners.UpdateScheduleRequest{ID: c.Param("id"), Spec: spec}, http.StatusOK)
}

func (s *Server) deleteSchedule(c *gin.Context) error {
	if _, err := natsrpc.Call[runners.ScheduleDeleted](c.Request.Context(), s.NATS, runners.SubjectScheduleDelete,
		runners.ScheduleRequest{ID: c.Param("id")}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) pauseSchedule(c *gin.Context) error {
	return forward(c, s, runners.SubjectSchedulePause, runners.ScheduleRequest{ID: c.Param("id")}, http.StatusOK)
}

func (s *Server) resumeSchedule(c *gin.Context) error {
	return forward(c, s, runners.SubjectScheduleResume, runners.ScheduleRequest{ID: c.Param("id")}, http.StatusOK)
}

// runSchedule starts the schedule's job now; a repeat under the same
// Idempotency-Key returns the fire the first request made.
func (s *Server) runSchedule(c *gin.Context) error {
	req := runners.RunScheduleRequest{ID: c.Param("id"), IdempotencyKey: c.GetHeader(runners.HeaderIdempotencyKey)}
	return forward(c, s, runners.SubjectScheduleRun, req, http.StatusCreated)
}

func (s *Server) nextFires(c *gin.Context) error {
	n, err := queryInt(c, "count", runners.DefaultNextFires, 1, runners.MaxNextFires)
	if err != nil {
		return err
	}
	return forward(c, s, runners.SubjectScheduleNext, runners.NextFiresRequest{ID: c.Param("id"), Count: n}, http.StatusOK)
}

// firesRequest reads the paging and outcome of a fire list.
func firesRequest(c *gin.Context) (runners.ListFiresRequest, error) {
	limit, err := pageLimit(c)
	if err != nil {
		return runners.ListFiresRequest{}, err
	}
	outcome, err := queryEnum(c, "outcome", runners.FireOutcomes)
	if err != nil {
		return runners.ListFiresRequest{}, err
	}
	return runners.ListFiresRequest{Limit: limit, Cursor: c.Query("cursor"), Outcome: outcome}, nil
}

func (s *Server) scheduleFires(c *gin.Context) error {
	req, err := firesRequest(c)
	if err != nil {
		return err
	}
	req.ScheduleID = c.Param("id")
	return forward(c, s, runners.SubjectScheduleFires, req, http.StatusOK)
}

func (s *Server) listFires(c *gin.Context) error {
	req, err := firesRequest(c)
	if err != nil {
		return err
	}
	if req.Since, err = queryTime(c, "since"); err != nil {
		return err
	}
	if req.Until, err = queryTime(c, "until"); err != nil {
		return err
	}
	if !req.Since.IsZero() && !req.Until.IsZero() && req.Until.Before(req.Since) {
		return errs.E(errs.InvalidArgument, "until must not be before since")
	}
	return forward(c, s, runners.SubjectScheduleFires, req, http.StatusOK)
}

func (s *Server) listCalendars(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	return forward(c, s, runners.SubjectCalendarList, runners.ListCalendarsRequest{Limit: limit, Cursor: c.Query("cursor")}, http.StatusOK)
}

func (s *Server) createCalendar(c *gin.Context) error {
	return decodeAndForward[runners.CalendarSpec](c, s, runners.SubjectCalendarCreate, http.StatusCreated)
}

func (s *Server) getCalendar(c *gin.Context) error {
	return forward(c, s, runners.SubjectCalendarGet, runners.CalendarRequest{ID: c.Param("id")}, http.StatusOK)
}

func (s *Server) updateCalendar(c *gin.Context) error {
	var spec runners.CalendarSpec
	if err := web.DecodeJSON(c, &spec); err != nil {
		return err
	}
	return forward(c, s, runners.SubjectCalendarUpdate, runners.UpdateCalendarRequest{ID: c.Param("id"), Spec: spec}, http.StatusOK)
}

func (s *Server) deleteCalendar(c *gin.Context) error {
	if _, err := natsrpc.Call[runners.CalendarDeleted](c.Request.Context(), s.NATS, runners.SubjectCalendarDelete,
		runners.CalendarRequest{ID: c.Param("id")}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
