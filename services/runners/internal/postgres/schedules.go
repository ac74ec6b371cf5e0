package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/runners/internal/schedule"
	"github.com/jackc/pgx/v5"
)

var errNoSchedule = errs.E(errs.NotFound, "no schedule has this id")

// scheduleColumns are a schedule's (table s) with its calendars and its
// last fire (lateral lf).
const scheduleColumns = `s.id::text, s.name, s.description, s.package_name, s.package_version, s.environment,
	s.target_runner_id::text, s.labels, s.parameters, s.max_attempts, s.timeout_seconds, s.cron, s.interval_seconds,
	s.time_zone, s.start_at, s.end_at, s.concurrency, s.misfire, s.state, s.next_fire_at, s.created_by,
	s.created_at, s.updated_at,
	array(SELECT l.calendar_id::text FROM schedule_calendars l WHERE l.schedule_id = s.id ORDER BY l.position),
	lf.fire_time, lf.kind, lf.outcome, lf.reason, lf.job_id::text, lf.recorded_at`

// lastFire joins a schedule's latest fire.
const lastFire = ` LEFT JOIN LATERAL (SELECT f.fire_time, f.kind, f.outcome, f.reason, f.job_id, f.recorded_at
	FROM schedule_fires f WHERE f.schedule_id = s.id ORDER BY f.fire_time DESC LIMIT 1) lf ON true`

// noFire stands for the lateral join where the last fire is not needed.
const noFire = ` LEFT JOIN LATERAL (SELECT NULL::timestamptz AS fire_time, NULL::text AS kind, NULL::text AS outcome,
	NULL::text AS reason, NULL::uuid AS job_id, NULL::timestamptz AS recorded_at) lf ON true`

func scanSchedule(row pgx.Row, extra ...any) (runners.Schedule, error) {
	var sc runners.Schedule
	var params []byte
	var ft, recorded *time.Time
	var kind, outcome, reason, jobID *string
	dest := []any{&sc.ID, &sc.Name, &sc.Description, &sc.Package, &sc.Version, &sc.Environment, &sc.RunnerID,
		&sc.Labels, &params, &sc.MaxAttempts, &sc.TimeoutSeconds, &sc.Cron, &sc.IntervalSeconds, &sc.TimeZone,
		&sc.StartAt, &sc.EndAt, &sc.Concurrency, &sc.Misfire, &sc.State, &sc.NextFireAt, &sc.CreatedBy,
		&sc.CreatedAt, &sc.UpdatedAt, &sc.CalendarIDs, &ft, &kind, &outcome, &reason, &jobID, &recorded}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return runners.Schedule{}, err
	}
	sc.Parameters = params
	if sc.Version == "" {
		sc.Version = "latest"
	}
	if sc.Labels == nil {
		sc.Labels = []string{}
	}
	if sc.CalendarIDs == nil {
		sc.CalendarIDs = []string{}
	}
	sc.CreatedAt, sc.UpdatedAt = sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()
	for _, t := range []**time.Time{&sc.StartAt, &sc.EndAt, &sc.NextFireAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	if ft != nil {
		f := fire(sc.ID, sc.Name, *ft, *kind, *outcome, *reason, jobID, *recorded)
		sc.LastFire = &f
	}
	return sc, nil
}

// fire makes a ScheduleFire; the lag is known for a fire that made a job.
func fire(scheduleID, name string, ft time.Time, kind, outcome, reason string, jobID *string, recorded time.Time) runners.ScheduleFire {
	f := runners.ScheduleFire{ScheduleID: scheduleID, ScheduleName: name, FireTime: ft.UTC(), Kind: kind, Outcome: outcome,
		Reason: reason, JobID: jobID, RecordedAt: recorded.UTC()}
	if outcome == runners.FireJobCreated {
		lag := max(recorded.Sub(ft).Seconds(), 0)
		f.LagSeconds = &lag
	}
	return f
}

func collectSchedules(rows pgx.Rows, err error) ([]runners.Schedule, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.Schedule, error) { return scanSchedule(r) })
}

func scheduleNameTaken(name string) error {
	return errs.Ef(errs.Conflict, "a schedule named %q already exists", name)
}

// storedVersion is the version column: "" follows the newest.
func storedVersion(v string) string {
	if v == "latest" {
		return ""
	}
	return v
}

// writeSchedule queues sc's row (insert or update) and its calendar links.
func writeSchedule(b *pgx.Batch, sc runners.Schedule, insert bool) {
	args := []any{sc.ID, sc.Name, sc.Description, sc.Package, storedVersion(sc.Version), sc.Environment, sc.RunnerID,
		sc.Labels, string(sc.Parameters), sc.MaxAttempts, sc.TimeoutSeconds, sc.Cron, sc.IntervalSeconds, sc.TimeZone,
		sc.StartAt, sc.EndAt, sc.Concurrency, sc.Misfire, sc.State, sc.NextFireAt, sc.CreatedBy, sc.CreatedAt, sc.UpdatedAt}
	if insert {
		b.Queue(`INSERT INTO schedules (id, name, description, package_name, package_version, environment,
			target_runner_id, labels, parameters, max_attempts, timeout_seconds, cron, interval_seconds, time_zone,
			start_at, end_at, concurrency, misfire, state, next_fire_at, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7::uuid, $8, $9::jsonb, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			        $20, $21, $22, $23)`, args...)
	} else {
		b.Queue(`UPDATE schedules SET name = $2, description = $3, package_name = $4, package_version = $5,
			environment = $6, target_runner_id = $7::uuid, labels = $8, parameters = $9::jsonb, max_attempts = $10,
			timeout_seconds = $11, cron = $12, interval_seconds = $13, time_zone = $14, start_at = $15, end_at = $16,
			concurrency = $17, misfire = $18, state = $19, next_fire_at = $20, created_by = $21, created_at = $22,
			updated_at = $23 WHERE id = $1`, args...)
		b.Queue("DELETE FROM schedule_calendars WHERE schedule_id = $1", sc.ID)
	}
	b.Queue(`INSERT INTO schedule_calendars (schedule_id, calendar_id, position)
		SELECT $1, c.id, c.n FROM unnest($2::uuid[]) WITH ORDINALITY AS c(id, n)`, sc.ID, sc.CalendarIDs)
}

// scheduleWriteError turns the constraint errors of a write into the user's.
func scheduleWriteError(err error, name string) error {
	switch pgCode(err) {
	case uniqueViolation:
		return scheduleNameTaken(name)
	case foreignKeyViolation:
		return errs.E(errs.InvalidArgument, "calendar_ids: a calendar named was deleted meanwhile")
	}
	return err
}

// CreateSchedule inserts a schedule with its calendars and records ev.
func (s ScheduleStore) CreateSchedule(ctx context.Context, sc runners.Schedule, ev audit.Event) error {
	err := s.inTx(ctx, "insert schedule", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		writeSchedule(b, sc, true)
		if _, err := s.events.Queue(ctx, b, ev); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	return scheduleWriteError(err, sc.Name)
}

// Schedule returns a schedule with its last fire.
func (s ScheduleStore) Schedule(ctx context.Context, id string) (runners.Schedule, error) {
	sc, err := scanSchedule(s.pool.QueryRow(ctx, "SELECT "+scheduleColumns+" FROM schedules s"+lastFire+" WHERE s.id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return runners.Schedule{}, errNoSchedule
	}
	if err != nil {
		return runners.Schedule{}, fmt.Errorf("read schedule %s: %w", id, err)
	}
	return sc, nil
}

// ChangeSchedule changes a schedule under its row lock.
func (s ScheduleStore) ChangeSchedule(ctx context.Context, id string,
	change func(*runners.Schedule) (audit.Event, error)) (runners.Schedule, error) {
	var sc runners.Schedule
	err := s.inTx(ctx, "change schedule", func(tx pgx.Tx) error {
		var err error
		sc, err = scanSchedule(tx.QueryRow(ctx, "SELECT "+scheduleColumns+" FROM schedules s"+lastFire+
			" WHERE s.id = $1 FOR UPDATE OF s", id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoSchedule
		}
		if err != nil {
			return err
		}
		ev, err := change(&sc)
		if errors.Is(err, schedule.ErrUnchanged) {
			return nil // nothing to write
		}
		if err != nil {
			return err
		}
		b := &pgx.Batch{}
		writeSchedule(b, sc, false)
		if _, err := s.events.Queue(ctx, b, ev); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		var e *errs.Error
		if errors.As(err, &e) && pgCode(err) == "" {
			return runners.Schedule{}, e
		}
		return runners.Schedule{}, scheduleWriteError(err, sc.Name)
	}
	return sc, nil
}

// DeleteSchedule deletes a schedule, its links and its fires.
func (s ScheduleStore) DeleteSchedule(ctx context.Context, id string, ev audit.Event) error {
	err := s.inTx(ctx, "delete schedule", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM schedules WHERE id = $1", id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNoSchedule
		}
		_, err = s.events.Append(ctx, tx, ev)
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return errNoSchedule
	}
	return err
}

// ListSchedules pages by name.
func (s ScheduleStore) ListSchedules(ctx context.Context, q schedule.ScheduleQuery) ([]runners.Schedule, error) {
	var where []string
	args := []any{q.Limit}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.After != nil {
		where = append(where, "(lower(s.name), s.id) > (lower("+arg(q.After.Name)+"), "+arg(q.After.ID)+"::uuid)")
	}
	if q.State != "" {
		where = append(where, "s.state = "+arg(q.State))
	}
	if q.Environment != "" {
		where = append(where, "s.environment = "+arg(q.Environment))
	}
	if q.Package != "" {
		where = append(where, "s.package_name = "+arg(q.Package))
	}
	if q.CalendarID != "" {
		where = append(where, "EXISTS (SELECT 1 FROM schedule_calendars l WHERE l.schedule_id = s.id AND l.calendar_id = "+
			arg(q.CalendarID)+"::uuid)")
	}
	sql := "SELECT " + scheduleColumns + " FROM schedules s" + lastFire
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	scs, err := collectSchedules(s.pool.Query(ctx, sql+" ORDER BY lower(s.name), s.id LIMIT $1", args...))
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return nonNil(scs), nil
}

// ScheduleCounts counts schedules by state.
func (s ScheduleStore) ScheduleCounts(ctx context.Context) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, "SELECT state, count(*)::int FROM schedules GROUP BY state")
	if err != nil {
		return nil, fmt.Errorf("count schedules: %w", err)
	}
	out := map[string]int{}
	var state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error { out[state] = n; return nil })
	if err != nil {
		return nil, fmt.Errorf("count schedules: %w", err)
	}
	return out, nil
}
