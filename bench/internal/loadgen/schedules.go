package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// ScheduleSecond is the second of the minute the i-th schedule fires at:
// the schedules are spread evenly over the 60 seconds of a minute.
func ScheduleSecond(i int) int { return i % 60 }

// ScheduleCron is the i-th schedule's cron: once a minute, at second
// ScheduleSecond(i) (6 fields, seconds first, read in UTC).
func ScheduleCron(i int) string { return fmt.Sprintf("%d * * * * *", ScheduleSecond(i)) }

// ExpectedFireTimes are the fire times in [since, until] (both inclusive)
// of a schedule firing once a minute at second of each UTC minute.
func ExpectedFireTimes(second int, since, until time.Time) []time.Time {
	var out []time.Time
	t := since.UTC().Truncate(time.Minute).Add(time.Duration(second) * time.Second)
	for ; !t.After(until); t = t.Add(time.Minute) {
		if !t.Before(since) {
			out = append(out, t)
		}
	}
	return out
}

// FireCheck is what the fires read back say against what was expected.
type FireCheck struct {
	Expected int `json:"expected"` // fire times the schedules were due in the window
	Found    int `json:"found"`    // fires of the schedules in the window (kind scheduled)
	// Missing are expected fire times with no fire; Duplicated are fires
	// beyond the first for one schedule and fire time; Unexpected are fires
	// at a time the schedule was not due.
	Missing    int            `json:"missing"`
	Duplicated int            `json:"duplicated"`
	Unexpected int            `json:"unexpected"`
	Manual     int            `json:"manual"` // run-now fires (none expected)
	Outcomes   map[string]int `json:"outcomes"`
	// SchedulesShort counts the schedules with at least one fire time missing.
	SchedulesShort int `json:"schedules_short"`
}

// CheckFires holds fires (of any schedule; those not in seconds are
// ignored) against the fire times of the schedules in seconds (schedule id
// -> the second of the minute it fires at) in [since, until].
func CheckFires(fires []runners.ScheduleFire, seconds map[string]int, since, until time.Time) FireCheck {
	c := FireCheck{Outcomes: map[string]int{}}
	seen := map[string]map[int64]int{} // schedule -> fire time (unix ns) -> fires
	for _, f := range fires {
		if _, ours := seconds[f.ScheduleID]; !ours {
			continue
		}
		if f.Kind == runners.FireManual {
			c.Manual++
			continue
		}
		if f.FireTime.Before(since) || f.FireTime.After(until) {
			continue
		}
		c.Found++
		c.Outcomes[f.Outcome]++
		if seen[f.ScheduleID] == nil {
			seen[f.ScheduleID] = map[int64]int{}
		}
		seen[f.ScheduleID][f.FireTime.UnixNano()]++
	}
	for id, second := range seconds {
		got := seen[id]
		want := ExpectedFireTimes(second, since, until)
		c.Expected += len(want)
		short := false
		for _, t := range want {
			switch n := got[t.UnixNano()]; {
			case n == 0:
				c.Missing++
				short = true
			case n > 1:
				c.Duplicated += n - 1
			}
			delete(got, t.UnixNano())
		}
		for _, n := range got { // what is left was not due
			c.Unexpected += n
		}
		if short {
			c.SchedulesShort++
		}
	}
	return c
}

// FireLags are the lags (fire time -> job created) of the job_created
// fires among fires, and how many fires had none.
func FireLags(fires []runners.ScheduleFire) (lags []time.Duration, without int) {
	for _, f := range fires {
		if f.Outcome != runners.FireJobCreated || f.LagSeconds == nil {
			without++
			continue
		}
		lags = append(lags, time.Duration(*f.LagSeconds*float64(time.Second)))
	}
	return lags, without
}

// InWindow keeps the scheduled fires of the schedules in ids whose fire
// time is in [since, until].
func InWindow(fires []runners.ScheduleFire, ids map[string]int, since, until time.Time) []runners.ScheduleFire {
	var out []runners.ScheduleFire
	for _, f := range fires {
		if _, ours := ids[f.ScheduleID]; ours && f.Kind != runners.FireManual &&
			!f.FireTime.Before(since) && !f.FireTime.After(until) {
			out = append(out, f)
		}
	}
	return out
}

// CreatedSchedules is what CreateSchedules made.
type CreatedSchedules struct {
	Seconds map[string]int // schedule id -> the second of the minute it fires at
	Create  Result         // request sent -> 201 received
	// PerSecond is created schedules over first request sent -> last 201.
	PerSecond float64
}

// CreateSchedules creates n schedules of spec (each named prefix-<i>,
// firing at ScheduleCron(i)) from the API clients at once, one client per
// goroutine. On an error it goes on with the others; the failures are
// counted in errs under "schedule-create" and in Create.Errors.
func CreateSchedules(ctx context.Context, apis []*hubclient.Client, spec runners.ScheduleSpec, prefix string, n int, errs *Errors) CreatedSchedules {
	out := CreatedSchedules{Seconds: make(map[string]int, n)}
	var mu sync.Mutex
	var lat []time.Duration
	var first, last time.Time
	failed := 0
	var next atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for _, api := range apis {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				s := spec
				s.Name, s.Cron = fmt.Sprintf("%s-%05d", prefix, i), ScheduleCron(i)
				var sc runners.Schedule
				sent := time.Now()
				err := api.JSON(http.MethodPost, runners.PathSchedules, s, &sc)
				got := time.Now()
				mu.Lock()
				if err != nil {
					failed++
					errs.Add("schedule-create", apiReason(err))
				} else {
					out.Seconds[sc.ID] = ScheduleSecond(i)
					lat = append(lat, got.Sub(sent))
					if first.IsZero() || sent.Before(first) {
						first = sent
					}
					last = later(last, got)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	out.Create = summarize("create", lat, failed, time.Since(start))
	out.PerSecond = perSecond(len(lat), first, last)
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// ReadFires reads every fire due in [since, until] through
// GET /api/v1/schedule-fires, 500 a page, following the cursor.
func ReadFires(ctx context.Context, api *hubclient.Client, since, until time.Time) ([]runners.ScheduleFire, error) {
	var out []runners.ScheduleFire
	q := url.Values{"since": {since.UTC().Format(time.RFC3339Nano)}, "until": {until.UTC().Format(time.RFC3339Nano)},
		"limit": {"500"}}
	for ctx.Err() == nil {
		var page runners.ListFiresResponse
		if err := api.JSON(http.MethodGet, runners.PathFires+"?"+q.Encode(), nil, &page); err != nil {
			return out, fmt.Errorf("read fires: %w", err)
		}
		out = append(out, page.Items...)
		if page.NextCursor == "" {
			return out, nil
		}
		q.Set("cursor", page.NextCursor)
	}
	return out, fmt.Errorf("read fires: %w", ctx.Err())
}

// deleteTries is how often DeleteSchedules tries one schedule.
const deleteTries = 3

// DeleteSchedules deletes the schedules (the jobs they started stay),
// workers at a time, trying each up to deleteTries times while the Hub
// answers 5xx or not at all (a later try that finds it gone counts it
// deleted: the first may have lost only its answer). Every failed try is counted in errs under "schedule-delete". It
// returns how many could not be deleted and the first error of those.
func DeleteSchedules(api *hubclient.Client, ids []string, workers int, errs *Errors) (int, error) {
	var mu sync.Mutex
	failed := 0
	var first error
	next := make(chan string)
	var wg sync.WaitGroup
	for range max(min(workers, len(ids)), 1) {
		wg.Go(func() {
			for id := range next {
				if err := deleteSchedule(api, id, errs); err != nil {
					mu.Lock()
					failed++
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, id := range ids {
		next <- id
	}
	close(next)
	wg.Wait()
	return failed, first
}

func deleteSchedule(api *hubclient.Client, id string, errs *Errors) error {
	var err error
	for try := range deleteTries {
		if try > 0 {
			time.Sleep(time.Duration(try) * 100 * time.Millisecond)
		}
		err = api.JSON(http.MethodDelete, runners.SchedulePath(id), nil, nil)
		var apiErr *hubclient.APIError
		refused := errors.As(err, &apiErr) && apiErr.Status < http.StatusInternalServerError
		switch {
		case err == nil:
			return nil
		case try > 0 && refused && apiErr.Status == http.StatusNotFound:
			return nil
		}
		errs.Add("schedule-delete", apiReason(err))
		if refused { // a 4xx is the answer, not a hiccup
			break
		}
	}
	return fmt.Errorf("delete schedule %s: %w", id, err)
}
