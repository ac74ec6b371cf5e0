package schedule

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/exekra/hub/services/runners/internal/firetime"
	"github.com/google/uuid"
)

// Page sizes of the lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	MaxDescription  = 1000
)

// validateCalendar checks a calendar's spec and returns it with its dates
// sorted, without repeats, and its time zone filled in.
func validateCalendar(spec runners.CalendarSpec) (runners.CalendarSpec, error) {
	var err error
	if spec.Name, err = checkName(spec.Name); err != nil {
		return spec, err
	}
	if err := checkDescription(spec.Description); err != nil {
		return spec, err
	}
	if spec.TimeZone, err = checkZone(spec.TimeZone); err != nil {
		return spec, err
	}
	if len(spec.Dates) > runners.MaxCalendarDates {
		return spec, errs.Ef(errs.InvalidArgument, "dates: a calendar holds at most %d dates", runners.MaxCalendarDates)
	}
	dates := make([]string, 0, len(spec.Dates))
	for _, d := range spec.Dates {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil || t.Format(time.DateOnly) != d {
			return spec, errs.Ef(errs.InvalidArgument, "dates: %q is not a date written YYYY-MM-DD", text.Mend(d))
		}
		dates = append(dates, d)
	}
	slices.Sort(dates)
	spec.Dates = slices.Compact(dates)
	return spec, nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len([]rune(name)) > runners.MaxScheduleNameLength {
		return name, errs.Ef(errs.InvalidArgument, "name must be 1 to %d characters", runners.MaxScheduleNameLength)
	}
	return name, text.CheckName("name", name)
}

func checkDescription(d string) error {
	if len([]rune(d)) > MaxDescription {
		return errs.Ef(errs.InvalidArgument, "description must be at most %d characters", MaxDescription)
	}
	return text.Check("description", d)
}

// checkZone returns tz as stored ("UTC" for "").
func checkZone(tz string) (string, error) {
	if err := text.Check("time_zone", tz); err != nil {
		return tz, err
	}
	if _, err := firetime.LoadLocation(tz); err != nil {
		return tz, errs.Ef(errs.InvalidArgument, "time_zone: %s", err.Error())
	}
	if tz == "" {
		tz = "UTC"
	}
	return tz, nil
}

// checkID refuses an id that is not a UUID (it names nothing).
func checkID(what, id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.Ef(errs.NotFound, "no %s has this id", what)
	}
	return nil
}

// CreateCalendar records a calendar (DEVELOPER and up).
func (s *Service) CreateCalendar(ctx context.Context, spec runners.CalendarSpec) (runners.Calendar, error) {
	if err := requireDeveloper(ctx, "creating a calendar"); err != nil {
		return runners.Calendar{}, err
	}
	spec, err := validateCalendar(spec)
	if err != nil {
		return runners.Calendar{}, err
	}
	now := s.now()
	c := runners.Calendar{ID: uuid.NewString(), Name: spec.Name, Description: spec.Description, TimeZone: spec.TimeZone,
		Dates: spec.Dates, CreatedBy: actorID(ctx), CreatedAt: now, UpdatedAt: now}
	if err := s.Store.CreateCalendar(ctx, c, calendarEvent(runners.ActionCalendarCreate, c)); err != nil {
		return runners.Calendar{}, err
	}
	return c, nil
}

func calendarEvent(action string, c runners.Calendar) audit.Event {
	return event(action, "calendar", c.ID, map[string]any{"name": c.Name, "time_zone": c.TimeZone, "dates": len(c.Dates)})
}

// Calendar returns a calendar.
func (s *Service) Calendar(ctx context.Context, id string) (runners.Calendar, error) {
	if err := firstError(requireReader(ctx), checkID("calendar", id)); err != nil {
		return runners.Calendar{}, err
	}
	return s.Store.Calendar(ctx, strings.ToLower(id))
}

// UpdateCalendar replaces a calendar's spec (DEVELOPER and up).
func (s *Service) UpdateCalendar(ctx context.Context, id string, spec runners.CalendarSpec) (runners.Calendar, error) {
	if err := firstError(requireDeveloper(ctx, "changing a calendar"), checkID("calendar", id)); err != nil {
		return runners.Calendar{}, err
	}
	spec, err := validateCalendar(spec)
	if err != nil {
		return runners.Calendar{}, err
	}
	c := runners.Calendar{ID: strings.ToLower(id), Name: spec.Name, Description: spec.Description, TimeZone: spec.TimeZone,
		Dates: spec.Dates, UpdatedAt: s.now()}
	return s.Store.UpdateCalendar(ctx, c, calendarEvent(runners.ActionCalendarUpdate, c))
}

// DeleteCalendar deletes a calendar no schedule uses (DEVELOPER and up).
func (s *Service) DeleteCalendar(ctx context.Context, id string) error {
	if err := firstError(requireDeveloper(ctx, "deleting a calendar"), checkID("calendar", id)); err != nil {
		return err
	}
	id = strings.ToLower(id)
	c, err := s.Store.Calendar(ctx, id)
	if err != nil {
		return err
	}
	return s.Store.DeleteCalendar(ctx, id, calendarEvent(runners.ActionCalendarDelete, c))
}

// ListCalendars pages through calendars by name.
func (s *Service) ListCalendars(ctx context.Context, req runners.ListCalendarsRequest) (runners.ListCalendarsResponse, error) {
	if err := requireReader(ctx); err != nil {
		return runners.ListCalendarsResponse{}, err
	}
	limit, err := checkLimit(req.Limit)
	if err != nil {
		return runners.ListCalendarsResponse{}, err
	}
	after, err := decodeNameCursor(req.Cursor)
	if err != nil {
		return runners.ListCalendarsResponse{}, err
	}
	cs, err := s.Store.ListCalendars(ctx, limit+1, after)
	if err != nil {
		return runners.ListCalendarsResponse{}, err
	}
	out := runners.ListCalendarsResponse{Items: cs}
	if len(cs) > limit {
		out.Items = cs[:limit]
		last := out.Items[limit-1]
		out.NextCursor = encodeCursor(NameCursor{Name: last.Name, ID: last.ID})
	}
	return out, nil
}

func checkLimit(limit int) (int, error) {
	if limit == 0 {
		return DefaultPageSize, nil
	}
	if limit < 1 || limit > MaxPageSize {
		return 0, errs.Ef(errs.InvalidArgument, "limit must be from 1 to %d", MaxPageSize)
	}
	return limit, nil
}

func encodeCursor(v any) string {
	b, _ := json.Marshal(v) // plain structs
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor reads a cursor into *dst (left nil for "").
func decodeCursor[T any](s string, dst **T) error {
	if s == "" {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	var v T
	if err != nil || json.Unmarshal(raw, &v) != nil {
		return errs.E(errs.InvalidArgument, "cursor is not one this service made")
	}
	*dst = &v
	return nil
}

// decodeNameCursor reads a cursor of a page by name (nil for "").
func decodeNameCursor(s string) (*NameCursor, error) {
	var c *NameCursor
	if err := decodeCursor(s, &c); err != nil {
		return nil, err
	}
	if c != nil && checkID("page", c.ID) != nil {
		return nil, errs.E(errs.InvalidArgument, "cursor is not one this service made")
	}
	return c, nil
}

func firstError(list ...error) error {
	for _, err := range list {
		if err != nil {
			return err
		}
	}
	return nil
}

// wrapf wraps an internal error with context.
func wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
