// Package firetime says when a schedule fires: a cron expression read on the
// wall clock of an IANA time zone, or a fixed interval of real time.
//
// Cron expressions are parsed by github.com/robfig/cron/v3 and evaluated on
// the zone's wall clock, then placed on the time line with two rules for the
// hours daylight saving time changes:
//   - a wall time that does not exist (the clock springs forward over it)
//     fires once, at the first valid instant after it: the transition;
//   - a wall time that occurs twice (the clock falls back over it) fires
//     once, at its first occurrence.
//
// Intervals count real elapsed time from their anchor and ignore the wall clock.
package firetime

import (
	"errors"
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // the same zone rules on every host, whatever it has installed

	"github.com/robfig/cron/v3"
)

// parser reads 5 fields (minute hour day-of-month month day-of-week), or 6
// with seconds first, and the @descriptors.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// searchLimit bounds the wall-clock candidates Next looks at for one answer:
// only the repeated hour of a fall back can make it skip candidates, and an
// every-second expression has 3600 of those.
const searchLimit = 10000

// Rule is when a schedule fires. The zero Rule never fires.
type Rule struct {
	spec     *cron.SpecSchedule // nil for an interval
	interval time.Duration
	anchor   time.Time
	loc      *time.Location
}

// LoadLocation returns the IANA time zone tz ("" is UTC). The host's own
// zone ("Local") is refused: a schedule must mean the same on every host.
func LoadLocation(tz string) (*time.Location, error) {
	if tz == "" {
		return time.UTC, nil
	}
	if tz == "Local" || strings.TrimSpace(tz) != tz {
		return nil, fmt.Errorf("time zone %q is not an IANA time zone name such as Europe/Berlin", tz)
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q is not an IANA time zone name such as Europe/Berlin", tz)
	}
	return loc, nil
}

// Parse reads when a schedule fires: exactly one of expr (a cron
// expression) and interval (at least a second, whole seconds) is set. expr is
// read in the IANA zone tz ("" is UTC); an interval counts from anchor.
// Errors are sentences for the person who wrote the schedule.
func Parse(expr string, interval time.Duration, tz string, anchor time.Time) (Rule, error) {
	loc, err := LoadLocation(tz)
	if err != nil {
		return Rule{}, err
	}
	switch {
	case expr != "" && interval != 0:
		return Rule{}, errors.New("give either cron or interval_seconds, not both")
	case expr == "" && interval == 0:
		return Rule{}, errors.New("give cron or interval_seconds")
	case expr == "":
		if interval < time.Second || interval%time.Second != 0 {
			return Rule{}, errors.New("interval_seconds must be a whole number of seconds, at least 1")
		}
		return Rule{interval: interval, anchor: anchor, loc: loc}, nil
	}
	spec, err := parseCron(expr)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{spec: spec, loc: loc}
	if r.Next(anchor).IsZero() {
		return Rule{}, fmt.Errorf("cron %q never fires (no such date in the next five years)", expr)
	}
	return r, nil
}

// parseCron parses expr as a wall-clock expression (no zone of its own).
func parseCron(expr string) (*cron.SpecSchedule, error) {
	if strings.HasPrefix(expr, "CRON_TZ=") || strings.HasPrefix(expr, "TZ=") {
		return nil, fmt.Errorf("cron %q: set the time zone in time_zone, not in the expression", expr)
	}
	if strings.HasPrefix(expr, "@every") {
		return nil, fmt.Errorf("cron %q: use interval_seconds for a fixed interval", expr)
	}
	sched, err := parser.Parse(expr)
	if err != nil {
		return nil, fmt.Errorf("cron %q: %w (5 fields: minute hour day-of-month month day-of-week, or 6 with seconds first)", expr, err)
	}
	spec, ok := sched.(*cron.SpecSchedule)
	if !ok {
		return nil, fmt.Errorf("cron %q is not a calendar expression", expr)
	}
	spec.Location = time.UTC // evaluated on wall-clock fields, see wall
	return spec, nil
}

// Location is the zone the rule reads wall-clock times in.
func (r Rule) Location() *time.Location {
	if r.loc == nil {
		return time.UTC
	}
	return r.loc
}

// Interval is the rule's fixed interval (0 for a cron expression).
func (r Rule) Interval() time.Duration { return r.interval }

// Next returns the first fire instant strictly after after, in the rule's
// zone; zero when there is none within five years.
func (r Rule) Next(after time.Time) time.Time {
	switch {
	case r.interval > 0:
		return r.nextInterval(after)
	case r.spec != nil:
		return r.nextCron(after)
	}
	return time.Time{}
}

func (r Rule) nextInterval(after time.Time) time.Time {
	if after.Before(r.anchor) {
		return r.anchor.In(r.Location())
	}
	k := after.Sub(r.anchor)/r.interval + 1
	return r.anchor.Add(k * r.interval).In(r.Location())
}

// nextCron walks the expression's wall-clock times from after's and returns
// the first whose instant lies after after.
func (r Rule) nextCron(after time.Time) time.Time {
	loc := r.Location()
	w := wall(after.In(loc))
	for range searchLimit {
		w = r.spec.Next(w)
		if w.IsZero() {
			return time.Time{}
		}
		if t := instant(w, loc); t.After(after) {
			return t
		}
	}
	return time.Time{}
}

// wall is t's wall-clock reading as a UTC time (the zone dropped).
func wall(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// instant places the wall-clock reading w (a UTC time standing for loc's
// wall clock) on the time line: its first occurrence when the clock shows it
// twice, the transition after it when the clock skips it.
func instant(w time.Time, loc *time.Location) time.Time {
	t := time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	start, end := t.ZoneBounds()
	if !wall(t).Equal(w) { // skipped: t is w moved by the jump, before or after it
		if wall(t).After(w) {
			return start
		}
		return end
	}
	if start.IsZero() {
		return t
	}
	// Fallen back into an hour the clock showed before? Then its first occurrence.
	_, off := t.Zone()
	_, offBefore := start.Add(-time.Nanosecond).Zone()
	if offBefore > off {
		first := w.Add(-time.Duration(offBefore) * time.Second).In(loc)
		if first.Before(start) && wall(first).Equal(w) {
			return first
		}
	}
	return t
}
