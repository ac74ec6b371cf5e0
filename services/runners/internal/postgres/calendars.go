package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/schedule"
	"github.com/jackc/pgx/v5"
)

// ScheduleStore reads and writes schedules, calendars and fires in the runners schema.
type ScheduleStore struct{ *Store }

var _ schedule.Store = ScheduleStore{}

// Schedules is the schedules store on the same pool and outbox.
func (s *Store) Schedules() ScheduleStore { return ScheduleStore{s} }

// foreignKeyViolation is PostgreSQL's code for a reference to a missing row
// (or a delete of a row still referred to).
const foreignKeyViolation = "23503"

var errNoCalendar = errs.E(errs.NotFound, "no calendar has this id")

const calendarColumns = `c.id::text, c.name, c.description, c.time_zone,
	array(SELECT to_char(d, 'YYYY-MM-DD') FROM unnest(c.dates) AS d ORDER BY d), c.created_by, c.created_at, c.updated_at`

func scanCalendar(row pgx.Row) (runners.Calendar, error) {
	var c runners.Calendar
	err := row.Scan(&c.ID, &c.Name, &c.Description, &c.TimeZone, &c.Dates, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt)
	if c.Dates == nil {
		c.Dates = []string{}
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, err
}

func collectCalendars(rows pgx.Rows, err error) ([]runners.Calendar, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.Calendar, error) { return scanCalendar(r) })
}

func calendarNameTaken(name string) error {
	return errs.Ef(errs.Conflict, "a calendar named %q already exists", name)
}

// CreateCalendar inserts a calendar and records ev.
func (s ScheduleStore) CreateCalendar(ctx context.Context, c runners.Calendar, ev audit.Event) error {
	err := s.inTx(ctx, "insert calendar", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO calendars (id, name, description, time_zone, dates, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5::text[]::date[], $6, $7, $8)`,
			c.ID, c.Name, c.Description, c.TimeZone, c.Dates, c.CreatedBy, c.CreatedAt, c.UpdatedAt)
		if _, err := s.events.Queue(ctx, b, ev); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if pgCode(err) == uniqueViolation {
		return calendarNameTaken(c.Name)
	}
	return err
}

// Calendar returns a calendar.
func (s ScheduleStore) Calendar(ctx context.Context, id string) (runners.Calendar, error) {
	c, err := scanCalendar(s.pool.QueryRow(ctx, "SELECT "+calendarColumns+" FROM calendars c WHERE c.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return runners.Calendar{}, errNoCalendar
	}
	if err != nil {
		return runners.Calendar{}, fmt.Errorf("read calendar %s: %w", id, err)
	}
	return c, nil
}

// CalendarsByID returns those of ids that exist.
func (s ScheduleStore) CalendarsByID(ctx context.Context, ids []string) ([]runners.Calendar, error) {
	cs, err := collectCalendars(s.pool.Query(ctx, "SELECT "+calendarColumns+" FROM calendars c WHERE c.id = ANY($1::uuid[])", ids))
	if err != nil {
		return nil, fmt.Errorf("read calendars: %w", err)
	}
	return cs, nil
}

// UpdateCalendar replaces a calendar's name, description, zone and dates.
func (s ScheduleStore) UpdateCalendar(ctx context.Context, c runners.Calendar, ev audit.Event) (runners.Calendar, error) {
	var out runners.Calendar
	err := s.inTx(ctx, "update calendar", func(tx pgx.Tx) error {
		var err error
		out, err = scanCalendar(tx.QueryRow(ctx, `UPDATE calendars c SET name = $2, description = $3, time_zone = $4,
			dates = $5::text[]::date[], updated_at = $6 WHERE c.id = $1 RETURNING `+calendarColumns,
			c.ID, c.Name, c.Description, c.TimeZone, c.Dates, c.UpdatedAt))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoCalendar
		}
		if err != nil {
			return err
		}
		_, err = s.events.Append(ctx, tx, ev)
		return err
	})
	switch {
	case pgCode(err) == uniqueViolation:
		return runners.Calendar{}, calendarNameTaken(c.Name)
	case errs.Is(err, errs.NotFound):
		return runners.Calendar{}, errNoCalendar
	}
	return out, err
}

// DeleteCalendar deletes a calendar no schedule uses.
func (s ScheduleStore) DeleteCalendar(ctx context.Context, id string, ev audit.Event) error {
	err := s.inTx(ctx, "delete calendar", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.name FROM schedule_calendars l JOIN schedules s ON s.id = l.schedule_id
			WHERE l.calendar_id = $1 ORDER BY lower(s.name) LIMIT 11`, id)
		if err != nil {
			return err
		}
		names, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		if len(names) > 0 {
			return inUse(names)
		}
		tag, err := tx.Exec(ctx, "DELETE FROM calendars WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNoCalendar
		}
		_, err = s.events.Append(ctx, tx, ev)
		return err
	})
	switch {
	case pgCode(err) == foreignKeyViolation: // a schedule took it up meanwhile
		return errs.E(errs.Conflict, "the calendar is used by a schedule; remove it from the schedule first")
	case errs.KindOf(err) == errs.Conflict || errs.KindOf(err) == errs.NotFound:
		var e *errs.Error
		errors.As(err, &e)
		return e
	}
	return err
}

func inUse(names []string) error {
	more := ""
	if len(names) > 10 {
		names, more = names[:10], " and more"
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", n)
	}
	return errs.Ef(errs.Conflict, "the calendar is used by the schedules %s%s; remove it from them first",
		strings.Join(quoted, ", "), more)
}

// ListCalendars pages by name.
func (s ScheduleStore) ListCalendars(ctx context.Context, limit int, after *schedule.NameCursor) ([]runners.Calendar, error) {
	q, args := "SELECT "+calendarColumns+" FROM calendars c", []any{limit}
	if after != nil {
		q += " WHERE (lower(c.name), c.id) > (lower($2), $3::uuid)"
		args = append(args, after.Name, after.ID)
	}
	cs, err := collectCalendars(s.pool.Query(ctx, q+" ORDER BY lower(c.name), c.id LIMIT $1", args...))
	if err != nil {
		return nil, fmt.Errorf("list calendars: %w", err)
	}
	return nonNil(cs), nil
}
