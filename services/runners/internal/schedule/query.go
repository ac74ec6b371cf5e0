package schedule

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// NextFires lists a schedule's coming fire times (none unless it is
// active), each in its zone too, and the calendar that will skip it.
func (s *Service) NextFires(ctx context.Context, id string, count int) (runners.NextFires, error) {
	if err := firstError(requireReader(ctx), checkID("schedule", id)); err != nil {
		return runners.NextFires{}, err
	}
	if count == 0 {
		count = runners.DefaultNextFires
	}
	if count < 1 || count > runners.MaxNextFires {
		return runners.NextFires{}, errs.Ef(errs.InvalidArgument, "count must be from 1 to %d", runners.MaxNextFires)
	}
	sc, err := s.Store.Schedule(ctx, strings.ToLower(id))
	if err != nil {
		return runners.NextFires{}, err
	}
	out := runners.NextFires{TimeZone: sc.TimeZone, Items: []runners.NextFire{}}
	if sc.State != runners.ScheduleActive || sc.NextFireAt == nil {
		return out, nil
	}
	r, err := s.ruleOf(sc)
	if err != nil {
		return runners.NextFires{}, wrapf(err, "read schedule %s", sc.ID)
	}
	var cals []runners.Calendar
	if len(sc.CalendarIDs) > 0 {
		found, err := s.Store.CalendarsByID(ctx, sc.CalendarIDs)
		if err != nil {
			return runners.NextFires{}, wrapf(err, "read calendars of schedule %s", sc.ID)
		}
		for _, id := range sc.CalendarIDs { // in the schedule's order
			if i := slices.IndexFunc(found, func(c runners.Calendar) bool { return c.ID == id }); i >= 0 {
				cals = append(cals, found[i])
			}
		}
	}
	zones := map[string]*time.Location{}
	now := s.now()
	t, ok := *sc.NextFireAt, true
	for ok && t.Before(now) { // due, and not yet fired
		t, ok = nextAfter(sc, r, t)
	}
	for ; ok && len(out.Items) < count; t, ok = nextAfter(sc, r, t) {
		item := runners.NextFire{At: t.UTC(), Local: t.In(r.Location()).Format(time.RFC3339)}
		if c, _ := skippedBy(cals, zones, t); c != "" {
			item.SkippedByCalendar = &c
		}
		out.Items = append(out.Items, item)
	}
	return out, nil
}

// ListFires pages through fires, newest fire time first: of one schedule
// or of all.
func (s *Service) ListFires(ctx context.Context, req runners.ListFiresRequest) (runners.ListFiresResponse, error) {
	if err := requireReader(ctx); err != nil {
		return runners.ListFiresResponse{}, err
	}
	limit, err := checkLimit(req.Limit)
	if err != nil {
		return runners.ListFiresResponse{}, err
	}
	q := FireQuery{ScheduleID: strings.ToLower(req.ScheduleID), Limit: limit + 1, Outcome: req.Outcome,
		Since: req.Since, Until: req.Until}
	switch {
	case q.Outcome != "" && !slices.Contains(runners.FireOutcomes, q.Outcome):
		return runners.ListFiresResponse{}, errs.Ef(errs.InvalidArgument, "outcome must be one of %s", strings.Join(runners.FireOutcomes, ", "))
	case !q.Since.IsZero() && !q.Until.IsZero() && q.Until.Before(q.Since):
		return runners.ListFiresResponse{}, errs.E(errs.InvalidArgument, "until must not be before since")
	}
	if err := decodeCursor(req.Cursor, &q.After); err != nil {
		return runners.ListFiresResponse{}, err
	}
	if q.After != nil && (q.After.FireTime.IsZero() || checkID("schedule", q.After.ScheduleID) != nil) {
		return runners.ListFiresResponse{}, errs.E(errs.InvalidArgument, "cursor is not one this service made")
	}
	if q.ScheduleID != "" {
		if err := checkID("schedule", q.ScheduleID); err != nil {
			return runners.ListFiresResponse{}, err
		}
		if _, err := s.Store.Schedule(ctx, q.ScheduleID); err != nil {
			return runners.ListFiresResponse{}, err
		}
	}
	fs, err := s.Store.ListFires(ctx, q)
	if err != nil {
		return runners.ListFiresResponse{}, err
	}
	out := runners.ListFiresResponse{Items: fs}
	if len(fs) > limit {
		out.Items = fs[:limit]
		last := out.Items[limit-1]
		out.NextCursor = encodeCursor(FireCursor{FireTime: last.FireTime, ScheduleID: last.ScheduleID})
	}
	return out, nil
}
