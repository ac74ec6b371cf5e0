package firetime

import (
	"strings"
	"testing"
	"time"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestDaylightSavingTime pins the fixed cases: a skipped wall time fires
// once at the transition, a repeated one once at its first occurrence, and
// the day after is back on the wall clock.
func TestDaylightSavingTime(t *testing.T) {
	for _, c := range []struct {
		name, cron, tz, after string
		want                  []string
	}{
		{"New York spring forward: 02:30 does not exist", "30 2 * * *", "America/New_York", "2026-03-07T17:00:00Z",
			[]string{"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
		{"New York fall back: 01:30 occurs twice", "30 1 * * *", "America/New_York", "2026-10-31T17:00:00Z",
			[]string{"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
		{"Berlin spring forward: 02:30 does not exist", "30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z",
			[]string{"2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
		{"Berlin fall back: 02:30 occurs twice", "30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z",
			[]string{"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
		{"Lord Howe half-hour spring forward: 02:15 does not exist", "15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z",
			[]string{"2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"}},
		{"Lord Howe half-hour fall back: 01:45 occurs twice", "45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z",
			[]string{"2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"}},
		{"six fields, seconds first", "*/20 * * * * *", "", "2026-01-01T00:00:05Z",
			[]string{"2026-01-01T00:00:20Z", "2026-01-01T00:00:40Z", "2026-01-01T00:01:00Z"}},
		{"descriptor in a zone", "@daily", "Asia/Kolkata", "2026-01-01T00:00:00Z",
			[]string{"2026-01-01T18:30:00Z", "2026-01-02T18:30:00Z"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse(c.cron, 0, c.tz, utc(c.after))
			if err != nil {
				t.Fatal(err)
			}
			at := utc(c.after)
			for i, w := range c.want {
				at = r.Next(at)
				if !at.Equal(utc(w)) {
					t.Fatalf("fire %d: %s (%s), want %s", i, at.UTC().Format(time.RFC3339), at.Format(time.RFC3339), w)
				}
				if at.Location() != r.Location() {
					t.Fatalf("fire %d in %s, want the rule's zone", i, at.Location())
				}
			}
		})
	}
}

// TestEveryMinuteAcrossTransitions counts the fires of an every-minute
// expression over the hours around each transition: once per wall-clock
// minute that exists, the skipped hour collapsed into the transition, the
// repeated hour not fired again, and the instants strictly increasing.
func TestEveryMinuteAcrossTransitions(t *testing.T) {
	for _, c := range []struct {
		name, tz, from, to string
		fires              int
	}{
		// 00:00 EST to 04:00 EDT: walls 00:00-01:59 and 03:00-03:59 (02:xx is skipped).
		{"spring forward", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T08:00:00Z", 180},
		// 00:00 EDT to 03:00 EST: walls 00:00-02:59, the repeated 01:xx once.
		{"fall back", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z", 180},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse("* * * * *", 0, c.tz, utc(c.from))
			if err != nil {
				t.Fatal(err)
			}
			walls := map[string]bool{}
			n := 0
			prev := utc(c.from).Add(-time.Second)
			for at := r.Next(prev); at.Before(utc(c.to)); at = r.Next(at) {
				if !at.After(prev) {
					t.Fatalf("%s does not follow %s", at, prev)
				}
				w := at.Format("15:04")
				if walls[w] {
					t.Fatalf("wall time %s fired twice", w)
				}
				walls[w] = true
				prev = at
				n++
			}
			if n != c.fires {
				t.Fatalf("%d fires, want %d", n, c.fires)
			}
		})
	}
}

// TestSkippedHourFiresOnce: every minute of the hour that does not exist
// collapses into one fire at the transition.
func TestSkippedHourFiresOnce(t *testing.T) {
	r, err := Parse("* 2 * * *", 0, "America/New_York", utc("2026-03-08T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	first := r.Next(utc("2026-03-08T00:00:00Z"))
	second := r.Next(first)
	if !first.Equal(utc("2026-03-08T07:00:00Z")) || !second.Equal(utc("2026-03-09T06:00:00Z")) {
		t.Fatalf("fires %s then %s", first.UTC(), second.UTC())
	}
}

func TestInterval(t *testing.T) {
	anchor := utc("2026-03-08T06:59:00Z")
	r, err := Parse("", 90*time.Second, "America/New_York", anchor)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Next(anchor.Add(-time.Hour)); !got.Equal(anchor) {
		t.Fatalf("before the anchor: %s", got)
	}
	if got := r.Next(anchor); !got.Equal(anchor.Add(90 * time.Second)) {
		t.Fatalf("at the anchor: %s", got)
	}
	// Real time: the transition at 07:00Z does not stretch or shrink it.
	if got := r.Next(anchor.Add(100 * time.Second)); !got.Equal(anchor.Add(180 * time.Second)) {
		t.Fatalf("across the transition: %s", got)
	}
}

func TestParseRefuses(t *testing.T) {
	now := utc("2026-01-01T00:00:00Z")
	for _, c := range []struct {
		cron     string
		interval time.Duration
		tz, want string
	}{
		{"* * * *", 0, "", "5 fields"},
		{"61 * * * *", 0, "", "cron"},
		{"* * * * *", time.Minute, "", "not both"},
		{"", 0, "", "give cron or interval_seconds"},
		{"", 1500 * time.Millisecond, "", "whole number of seconds"},
		{"@every 5m", 0, "", "interval_seconds"},
		{"CRON_TZ=Asia/Tokyo 0 9 * * *", 0, "", "time_zone"},
		{"0 0 30 2 *", 0, "", "never fires"},
		{"0 9 * * *", 0, "Mars/Olympus", "IANA"},
		{"0 9 * * *", 0, "Local", "IANA"},
	} {
		_, err := Parse(c.cron, c.interval, c.tz, now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q, %s, %q) = %v, want an error saying %q", c.cron, c.interval, c.tz, err, c.want)
		}
	}
}
