package postgres

import (
	"context"
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

// liveJob is the SQL test of a job still pending, claimed or running.
const liveJob = "status IN ('pending', 'claimed', 'running')"

// FireDue takes the due active schedules (skipping those another instance
// holds), plans each, and records the plans in one transaction.
func (s ScheduleStore) FireDue(ctx context.Context, now time.Time, limit int,
	decide func(schedule.Due) schedule.Plan) ([]schedule.Firing, int, error) {
	var firings []schedule.Firing
	var taken int
	err := s.inTx(ctx, "fire due schedules", func(tx pgx.Tx) error {
		firings, taken = nil, 0
		rows, err := tx.Query(ctx, "SELECT "+scheduleColumns+`, coalesce(j.status, '')
			FROM schedules s`+noFire+` LEFT JOIN jobs j ON j.id = s.last_job_id
			WHERE s.state = 'active' AND s.next_fire_at <= $1
			ORDER BY s.next_fire_at LIMIT $2 FOR UPDATE OF s SKIP LOCKED`, now, limit)
		if err != nil {
			return err
		}
		dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (schedule.Due, error) {
			var d schedule.Due
			var err error
			d.Schedule, err = scanSchedule(r, &d.LastJobStatus)
			return d, err
		})
		if err != nil || len(dues) == 0 {
			return err
		}
		taken = len(dues)
		if err := s.dueContext(ctx, tx, dues); err != nil {
			return err
		}
		plans := make([]schedule.Plan, len(dues))
		for i, d := range dues {
			plans[i] = decide(d)
		}
		firings, err = s.recordPlans(ctx, tx, dues, plans)
		return err
	})
	return firings, taken, err
}

// dueContext reads, after the schedules are locked, their calendars and
// their pending and queued fires.
func (s ScheduleStore) dueContext(ctx context.Context, tx pgx.Tx, dues []schedule.Due) error {
	ids := make([]string, len(dues))
	at := map[string]int{}
	for i, d := range dues {
		ids[i], at[d.Schedule.ID] = d.Schedule.ID, i
	}
	b := &pgx.Batch{}
	b.Queue(`SELECT l.schedule_id::text, `+calendarColumns+` FROM schedule_calendars l JOIN calendars c ON c.id = l.calendar_id
		WHERE l.schedule_id = ANY($1::uuid[]) ORDER BY l.schedule_id, l.position`, ids)
	b.Queue(`SELECT schedule_id::text, count(*) FILTER (WHERE outcome = 'pending')::int, count(*) FILTER (WHERE outcome = 'queued')::int
		FROM schedule_fires WHERE schedule_id = ANY($1::uuid[]) AND outcome IN ('pending', 'queued') GROUP BY schedule_id`, ids)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return err
	}
	for rows.Next() {
		var id string
		var c runners.Calendar
		if err := rows.Scan(&id, &c.ID, &c.Name, &c.Description, &c.TimeZone, &c.Dates, &c.CreatedBy, &c.CreatedAt, &c.UpdatedAt); err != nil {
			rows.Close()
			return err
		}
		dues[at[id]].Calendars = append(dues[at[id]].Calendars, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows, err = br.Query()
	if err != nil {
		return err
	}
	var id string
	var pending, queued int
	_, err = pgx.ForEachRow(rows, []any{&id, &pending, &queued}, func() error {
		dues[at[id]].Pending, dues[at[id]].Queued = pending, queued
		return nil
	})
	if err != nil {
		return err
	}
	return br.Close()
}

// recordPlans inserts the plans' fires (a fire time recorded already is
// left alone) and sets the schedules' next fire times; it returns the
// pending fires inserted.
func (s ScheduleStore) recordPlans(ctx context.Context, tx pgx.Tx, dues []schedule.Due, plans []schedule.Plan) ([]schedule.Firing, error) {
	var (
		sids, kinds, outcomes, reasons, states, nextIDs []string
		times, recorded                                 []time.Time
		leases, nexts                                   []*time.Time
	)
	bySchedule := map[string]runners.Schedule{}
	for i, p := range plans {
		sc := dues[i].Schedule
		bySchedule[sc.ID] = sc
		for _, f := range p.Fires {
			sids, times, kinds, outcomes = append(sids, sc.ID), append(times, f.FireTime), append(kinds, f.Kind), append(outcomes, f.Outcome)
			reasons, recorded = append(reasons, f.Reason), append(recorded, f.RecordedAt)
			var lease *time.Time
			if f.Outcome == runners.FirePending {
				lease = &p.LeaseUntil
			}
			leases = append(leases, lease)
		}
		nextIDs, nexts, states = append(nextIDs, sc.ID), append(nexts, p.NextFireAt), append(states, p.State)
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO schedule_fires (schedule_id, fire_time, kind, outcome, reason, recorded_at, lease_until)
		SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
		ON CONFLICT (schedule_id, fire_time) DO NOTHING
		RETURNING schedule_id::text, fire_time, outcome`, sids, times, kinds, outcomes, reasons, recorded, leases)
	b.Queue(`UPDATE schedules s SET next_fire_at = u.next, state = u.state
		FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS u(id, next, state) WHERE s.id = u.id`, nextIDs, nexts, states)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	var firings []schedule.Firing
	var sid, outcome string
	var ft time.Time
	_, err = pgx.ForEachRow(rows, []any{&sid, &ft, &outcome}, func() error {
		if outcome == runners.FirePending {
			sc := bySchedule[sid]
			firings = append(firings, schedule.Firing{Fire: runners.ScheduleFire{ScheduleID: sid, ScheduleName: sc.Name,
				FireTime: ft.UTC(), Kind: runners.FireScheduled, Outcome: outcome}, Spec: schedule.SpecOf(sc)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	return firings, br.Close()
}

// collectFirings reads rows of (fire_time, schedule columns).
func collectFirings(rows pgx.Rows, err error) ([]schedule.Firing, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (schedule.Firing, error) {
		var ft time.Time
		sc, err := scanSchedule(r, &ft)
		return schedule.Firing{Fire: runners.ScheduleFire{ScheduleID: sc.ID, ScheduleName: sc.Name, FireTime: ft.UTC(),
			Kind: runners.FireScheduled, Outcome: runners.FirePending}, Spec: schedule.SpecOf(sc)}, err
	})
}

// TakeExpired re-leases pending scheduled fires whose lease ended.
func (s ScheduleStore) TakeExpired(ctx context.Context, now, leaseUntil time.Time, limit int) ([]schedule.Firing, error) {
	fs, err := collectFirings(s.pool.Query(ctx, `WITH x AS (
			UPDATE schedule_fires f SET lease_until = $2
			FROM (SELECT schedule_id, fire_time FROM schedule_fires
			      WHERE outcome = 'pending' AND kind = 'scheduled' AND lease_until < $1
			      ORDER BY lease_until LIMIT $3 FOR UPDATE SKIP LOCKED) e
			WHERE f.schedule_id = e.schedule_id AND f.fire_time = e.fire_time
			RETURNING f.schedule_id, f.fire_time)
		SELECT `+scheduleColumns+`, x.fire_time FROM x JOIN schedules s ON s.id = x.schedule_id`+noFire,
		now, leaseUntil, limit))
	if err != nil {
		return nil, fmt.Errorf("take over expired fires: %w", err)
	}
	return fs, nil
}

// PromoteQueued starts the oldest queued fire of each schedule (not
// paused) whose previous job ended and that has no pending fire.
func (s ScheduleStore) PromoteQueued(ctx context.Context, leaseUntil time.Time, limit int) ([]schedule.Firing, error) {
	var fs []schedule.Firing
	err := s.inTx(ctx, "start queued fires", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text FROM schedules
			WHERE id IN (SELECT DISTINCT schedule_id FROM schedule_fires WHERE outcome = 'queued') AND state <> 'paused'
			LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil || len(ids) == 0 {
			return err
		}
		// A statement of its own: it sees what committed before the locks.
		fs, err = collectFirings(tx.Query(ctx, `WITH c AS (
				SELECT DISTINCT ON (f.schedule_id) f.schedule_id, f.fire_time
				FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id
				WHERE f.schedule_id = ANY($1::uuid[]) AND f.outcome = 'queued'
				  AND NOT EXISTS (SELECT 1 FROM schedule_fires p WHERE p.schedule_id = f.schedule_id AND p.outcome = 'pending')
				  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = s.last_job_id AND j.`+liveJob+`)
				ORDER BY f.schedule_id, f.fire_time),
			x AS (UPDATE schedule_fires f SET outcome = 'pending', lease_until = $2
				FROM c WHERE f.schedule_id = c.schedule_id AND f.fire_time = c.fire_time
				RETURNING f.schedule_id, f.fire_time)
			SELECT `+scheduleColumns+`, x.fire_time FROM x JOIN schedules s ON s.id = x.schedule_id`+noFire, ids, leaseUntil))
		return err
	})
	return fs, err
}

// FinishFires records what pending fires came to and the schedules' last jobs.
func (s ScheduleStore) FinishFires(ctx context.Context, done []schedule.Finished) error {
	n := len(done)
	sids, outcomes, reasons, jobs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, recorded := make([]time.Time, n), make([]time.Time, n)
	for i, d := range done {
		sids[i], outcomes[i], reasons[i], jobs[i], times[i], recorded[i] = d.ScheduleID, d.Outcome, d.Reason, d.JobID, d.FireTime, d.RecordedAt
	}
	return s.inTx(ctx, "record fires", func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		// The schedules first, in id order, then their fires: the order a
		// delete (the schedule, then its fires by cascade) and the fire loop
		// take them in, so neither waits on the other in a circle.
		b.Queue(`SELECT id FROM schedules WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, sids)
		b.Queue(`UPDATE schedule_fires f SET outcome = u.outcome, reason = u.reason, job_id = NULLIF(u.job, '')::uuid,
				recorded_at = u.at, lease_until = NULL
			FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
			     AS u(sid, ft, outcome, reason, job, at)
			WHERE f.schedule_id = u.sid AND f.fire_time = u.ft AND f.outcome = 'pending'`,
			sids, times, outcomes, reasons, jobs, recorded)
		b.Queue(`WITH u AS (SELECT DISTINCT ON (sid) sid, job::uuid AS job
				FROM unnest($1::uuid[], $2::timestamptz[], $3::text[]) AS u(sid, ft, job) WHERE job <> ''
				ORDER BY sid, ft DESC)
			UPDATE schedules s SET last_job_id = u.job FROM u WHERE s.id = u.sid`, sids, times, jobs)
		return tx.SendBatch(ctx, b).Close()
	})
}

// RecordManualFire inserts a run now's fire and records ev.
func (s ScheduleStore) RecordManualFire(ctx context.Context, f runners.ScheduleFire, ev audit.Event) (runners.ScheduleFire, error) {
	err := s.inTx(ctx, "record run now", func(tx pgx.Tx) error {
		for range 10 {
			tag, err := tx.Exec(ctx, `INSERT INTO schedule_fires (schedule_id, fire_time, kind, outcome, reason, job_id, recorded_at)
				VALUES ($1, $2, $3, $4, $5, $6::uuid, $7) ON CONFLICT (schedule_id, fire_time) DO NOTHING`,
				f.ScheduleID, f.FireTime, f.Kind, f.Outcome, f.Reason, f.JobID, f.RecordedAt)
			if pgCode(err) == foreignKeyViolation {
				return errNoSchedule // deleted meanwhile
			}
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 1 {
				break
			}
			f.FireTime = f.FireTime.Add(time.Microsecond)
		}
		if f.JobID != nil {
			if _, err := tx.Exec(ctx, "UPDATE schedules SET last_job_id = $2 WHERE id = $1", f.ScheduleID, *f.JobID); err != nil {
				return err
			}
		}
		_, err := s.events.Append(ctx, tx, ev)
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return runners.ScheduleFire{}, errNoSchedule
	}
	return f, err
}

const fireColumns = `f.schedule_id::text, s.name, f.fire_time, f.kind, f.outcome, f.reason, f.job_id::text, f.recorded_at`

func collectFires(rows pgx.Rows, err error) ([]runners.ScheduleFire, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (runners.ScheduleFire, error) {
		var sid, name, kind, outcome, reason string
		var ft, recorded time.Time
		var job *string
		err := r.Scan(&sid, &name, &ft, &kind, &outcome, &reason, &job, &recorded)
		return fire(sid, name, ft, kind, outcome, reason, job, recorded), err
	})
}

// FireOfJob returns the manual fire that made a job.
func (s ScheduleStore) FireOfJob(ctx context.Context, scheduleID, jobID string) (runners.ScheduleFire, bool, error) {
	fs, err := collectFires(s.pool.Query(ctx, "SELECT "+fireColumns+` FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id
		WHERE f.schedule_id = $1 AND f.job_id = $2 AND f.kind = 'manual' LIMIT 1`, scheduleID, jobID))
	if err != nil {
		return runners.ScheduleFire{}, false, fmt.Errorf("find the fire of job %s: %w", jobID, err)
	}
	if len(fs) == 0 {
		return runners.ScheduleFire{}, false, nil
	}
	return fs[0], true, nil
}

// ListFires pages through fires, newest fire time first.
func (s ScheduleStore) ListFires(ctx context.Context, q schedule.FireQuery) ([]runners.ScheduleFire, error) {
	var where []string
	args := []any{q.Limit}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.ScheduleID != "" {
		where = append(where, "f.schedule_id = "+arg(q.ScheduleID)+"::uuid")
	}
	if q.Outcome != "" {
		where = append(where, "f.outcome = "+arg(q.Outcome))
	}
	if !q.Since.IsZero() {
		where = append(where, "f.fire_time >= "+arg(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "f.fire_time <= "+arg(q.Until))
	}
	if q.After != nil {
		where = append(where, "(f.fire_time, f.schedule_id) < ("+arg(q.After.FireTime)+", "+arg(q.After.ScheduleID)+"::uuid)")
	}
	sql := "SELECT " + fireColumns + " FROM schedule_fires f JOIN schedules s ON s.id = f.schedule_id"
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	fs, err := collectFires(s.pool.Query(ctx, sql+" ORDER BY f.fire_time DESC, f.schedule_id DESC LIMIT $1", args...))
	if err != nil {
		return nil, fmt.Errorf("list fires: %w", err)
	}
	return nonNil(fs), nil
}
