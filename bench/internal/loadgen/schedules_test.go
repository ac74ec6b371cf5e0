package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

func TestScheduleCronSpreadsOverTheMinute(t *testing.T) {
	perSecond := map[string]int{}
	for i := range 10000 {
		perSecond[ScheduleCron(i)]++
	}
	if len(perSecond) != 60 {
		t.Fatalf("%d distinct crons, want one per second of the minute (60)", len(perSecond))
	}
	for cron, n := range perSecond {
		if n != 166 && n != 167 {
			t.Fatalf("%q has %d schedules, want 166 or 167 (10,000 over 60 seconds)", cron, n)
		}
	}
	if got := ScheduleCron(61); got != "1 * * * * *" {
		t.Fatalf("ScheduleCron(61) = %q, want the 6-field cron at second 1", got)
	}
}

// at is 2026-12-06 10:mm:ss UTC.
func at(mm, ss int) time.Time { return time.Date(2026, 12, 6, 10, mm, ss, 0, time.UTC) }

func TestExpectedFireTimes(t *testing.T) {
	for _, tc := range []struct {
		name         string
		second       int
		since, until time.Time
		want         []time.Time
	}{
		{"three whole minutes: three fires", 5, at(0, 0), at(2, 59), []time.Time{at(0, 5), at(1, 5), at(2, 5)}},
		{"a window starting mid-minute skips a second already past", 5, at(0, 10), at(3, 9), []time.Time{at(1, 5), at(2, 5), at(3, 5)}},
		{"both bounds are inclusive", 5, at(0, 5), at(1, 5), []time.Time{at(0, 5), at(1, 5)}},
		{"a window shorter than a minute may hold none", 30, at(0, 31), at(1, 29), nil},
		{"a local-time bound is read as the instant it is", 0, at(1, 0).In(time.FixedZone("x", 3600)), at(1, 30), []time.Time{at(1, 0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ExpectedFireTimes(tc.second, tc.since, tc.until)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if !got[i].Equal(tc.want[i]) {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func fire(id string, t time.Time, outcome string, lag float64) runners.ScheduleFire {
	f := runners.ScheduleFire{ScheduleID: id, FireTime: t, Kind: runners.FireScheduled, Outcome: outcome}
	if outcome == runners.FireJobCreated {
		f.LagSeconds = &lag
	}
	return f
}

// twoSchedules fire at second 0 (a) and 30 (b) of a window of two minutes:
// four fire times, all made.
func twoSchedules() (map[string]int, []runners.ScheduleFire) {
	seconds := map[string]int{"a": 0, "b": 30}
	fires := []runners.ScheduleFire{
		fire("a", at(0, 0), runners.FireJobCreated, 0.1), fire("a", at(1, 0), runners.FireJobCreated, 0.2),
		fire("b", at(0, 30), runners.FireJobCreated, 0.3), fire("b", at(1, 30), runners.FireJobCreated, 0.4),
	}
	return seconds, fires
}

func TestCheckFires(t *testing.T) {
	since, until := at(0, 0), at(1, 59)
	for _, tc := range []struct {
		name   string
		change func([]runners.ScheduleFire) []runners.ScheduleFire
		want   FireCheck
	}{
		{"every fire time once", func(f []runners.ScheduleFire) []runners.ScheduleFire { return f },
			FireCheck{Expected: 4, Found: 4, Outcomes: map[string]int{"job_created": 4}}},
		{"a fire time without a fire is missing", func(f []runners.ScheduleFire) []runners.ScheduleFire { return f[1:] },
			FireCheck{Expected: 4, Found: 3, Missing: 1, SchedulesShort: 1, Outcomes: map[string]int{"job_created": 3}}},
		{"a fire time twice is one duplicate", func(f []runners.ScheduleFire) []runners.ScheduleFire {
			return append(f, fire("b", at(1, 30), runners.FireFailed, 0))
		}, FireCheck{Expected: 4, Found: 5, Duplicated: 1, Outcomes: map[string]int{"job_created": 4, "failed": 1}}},
		{"a fire at a second the schedule was not due is not due", func(f []runners.ScheduleFire) []runners.ScheduleFire {
			return append(f, fire("a", at(0, 31), runners.FireJobCreated, 0))
		}, FireCheck{Expected: 4, Found: 5, Unexpected: 1, Outcomes: map[string]int{"job_created": 5}}},
		{"other schedules, run now and fires outside the window are not counted", func(f []runners.ScheduleFire) []runners.ScheduleFire {
			manual := fire("a", at(0, 12), runners.FireJobCreated, 0)
			manual.Kind = runners.FireManual
			return append(f, fire("other", at(0, 0), runners.FireJobCreated, 0), manual,
				fire("a", at(2, 0), runners.FireJobCreated, 0), fire("b", at(-1, 30), runners.FireJobCreated, 0))
		}, FireCheck{Expected: 4, Found: 4, Manual: 1, Outcomes: map[string]int{"job_created": 4}}},
		{"a pending fire is found, with its outcome", func(f []runners.ScheduleFire) []runners.ScheduleFire {
			f[3].Outcome = runners.FirePending
			return f
		}, FireCheck{Expected: 4, Found: 4, Outcomes: map[string]int{"job_created": 3, "pending": 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seconds, fires := twoSchedules()
			got := CheckFires(tc.change(fires), seconds, since, until)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("CheckFires = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFinish(t *testing.T) {
	seconds, fires := twoSchedules()
	base := SchedulesReport{Since: at(0, 0), Until: at(1, 59), Window: 2 * time.Minute}
	t.Run("every fire made under 2s meets the target", func(t *testing.T) {
		r := base
		r.Finish(fires, seconds, 0.5, map[string]float64{"postgres": 0.2})
		if r.Lag.Requests != 4 || r.Lag.Errors != 0 || r.Lag.P50 != 200*time.Millisecond || r.Lag.Max != 400*time.Millisecond {
			t.Fatalf("lag %+v, want 4 fires, p50 200ms, max 400ms", r.Lag)
		}
		if r.CPUPerFire != 125 || r.FiresPerSecond != 4.0/120 || !r.TargetMet || r.FireErrorsSum != 0 {
			t.Fatalf("cpu/fire %v ms, fires/s %v, met %v, errors %d; want 125, 1/30, true, 0",
				r.CPUPerFire, r.FiresPerSecond, r.TargetMet, r.FireErrorsSum)
		}
		rows := SchedulesRows(r)
		if f := rows[1]; f.Operation != "schedule-fire" || f.Requests != 4 || f.Errors != 0 || f.HubCPU != 125_000 || f.P99 != 400*time.Millisecond {
			t.Fatalf("fire row %+v", f)
		}
		if note := SchedulesNote(r); !strings.Contains(note, "PostgreSQL 50.00 CPU-ms per fire") {
			t.Fatalf("note %q does not give PostgreSQL's CPU per fire", note)
		}
	})
	t.Run("the Hub's rest is taken off the CPU per fire", func(t *testing.T) {
		r := base
		r.RestCores = 0.001 // 0.12 s over the two minutes
		r.Finish(fires, seconds, 0.5, nil)
		if r.CPUPerFire != 125 || r.NetCPUPerFire < 94.999 || r.NetCPUPerFire > 95.001 {
			t.Fatalf("cpu/fire %v ms, above rest %v; want 125 and 95", r.CPUPerFire, r.NetCPUPerFire)
		}
		r.RestCores = 1 // more than was spent: nothing is left for the fires
		r.Finish(fires, seconds, 0.5, nil)
		if r.NetCPUPerFire != 0 {
			t.Fatalf("above rest %v, want 0", r.NetCPUPerFire)
		}
	})
	t.Run("a slow fire misses the target", func(t *testing.T) {
		r := base
		slow := append([]runners.ScheduleFire(nil), fires...)
		slow[3] = fire("b", at(1, 30), runners.FireJobCreated, 2.5)
		r.Finish(slow, seconds, 0.4, nil)
		if r.TargetMet || r.Lag.P99 != 2500*time.Millisecond {
			t.Fatalf("met %v with p99 %v", r.TargetMet, r.Lag.P99)
		}
	})
	t.Run("a missing or failed fire misses the target and counts as an error", func(t *testing.T) {
		r := base
		failed := append([]runners.ScheduleFire(nil), fires[1:]...)
		failed[0] = fire("a", at(1, 0), runners.FireFailed, 0)
		r.Finish(failed, seconds, 0.4, nil)
		if r.TargetMet || r.FireErrorsSum != 2 || r.Lag.Errors != 1 || r.Lag.Requests != 3 {
			t.Fatalf("met %v, errors %d, lag %+v; want not met, 2 errors (1 missing, 1 failed)", r.TargetMet, r.FireErrorsSum, r.Lag)
		}
		if row := SchedulesRows(r)[1]; row.Errors != 2 {
			t.Fatalf("fire row errors %d, want 2", row.Errors)
		}
	})
}

// fakeSchedules is the schedules part of the Hub's API: create (every
// tenth fails), the fires of every schedule (paged by three), delete.
type fakeSchedules struct {
	mu      sync.Mutex
	made    map[string]runners.ScheduleSpec
	deleted []string
	// deleteTries counts DELETEs by id: "flaky" fails its first with a
	// 500, "busy" all of them; "lost-answer" is deleted by its first,
	// which answers 500.
	deleteTries map[string]int
	fires       []runners.ScheduleFire
	queries     []string
}

func newFakeSchedules(t testing.TB) (*fakeSchedules, *hubclient.Client) {
	t.Helper()
	f := &fakeSchedules{made: map[string]runners.ScheduleSpec{}, deleteTries: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/schedules", func(w http.ResponseWriter, r *http.Request) {
		var spec runners.ScheduleSpec
		json.NewDecoder(r.Body).Decode(&spec)
		if strings.HasSuffix(spec.Name, "9") {
			http.Error(w, `{"error":{"code":"conflict"}}`, http.StatusConflict)
			return
		}
		f.mu.Lock()
		id := "s" + strconv.Itoa(len(f.made))
		f.made[id] = spec
		f.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
		json.NewEncoder(w).Encode(runners.Schedule{ID: id, Name: spec.Name, Cron: spec.Cron})
	})
	mux.HandleFunc("GET /api/v1/schedule-fires", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.queries = append(f.queries, r.URL.RawQuery)
		from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		to := min(from+3, len(f.fires))
		page := runners.ListFiresResponse{Items: f.fires[from:to]}
		if to < len(f.fires) {
			page.NextCursor = strconv.Itoa(to)
		}
		json.NewEncoder(w).Encode(page)
	})
	mux.HandleFunc("DELETE /api/v1/schedules/{id}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		id := r.PathValue("id")
		f.deleteTries[id]++
		switch {
		case id == "busy" || id == "flaky" && f.deleteTries[id] == 1:
			http.Error(w, `{"error":{"code":"internal"}}`, http.StatusInternalServerError)
			return
		case id == "lost-answer" && f.deleteTries[id] == 1:
			delete(f.made, id) // deleted, but the answer is a 500
			http.Error(w, `{"error":{"code":"internal"}}`, http.StatusInternalServerError)
			return
		}
		if _, ok := f.made[id]; !ok {
			http.Error(w, `{"error":{"code":"not_found"}}`, http.StatusNotFound)
			return
		}
		f.deleted = append(f.deleted, r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	api, err := hubclient.New(srv.URL, "tok", hubclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f, api
}

func TestCreateReadDeleteSchedules(t *testing.T) {
	f, api := newFakeSchedules(t)
	errs := &Errors{}
	spec := runners.ScheduleSpec{Package: "noop", Environment: runners.EnvStaging, Concurrency: runners.ConcurrencyAllow}
	made := CreateSchedules(context.Background(), []*hubclient.Client{api, api, api}, spec, "lg", 100, errs)
	if len(made.Seconds) != 90 || made.Create.Errors != 10 || made.Create.Requests != 100 {
		t.Fatalf("created %d (errors %d of %d), want 90 of 100 (every name ending in 9 refused)",
			len(made.Seconds), made.Create.Errors, made.Create.Requests)
	}
	if got := errs.Snapshot()["schedule-create"]["409"]; got != 10 {
		t.Fatalf("409s counted %d, want 10", got)
	}
	for id, second := range made.Seconds {
		s := f.made[id]
		if s.Cron != fmt.Sprintf("%d * * * * *", second) || s.Concurrency != runners.ConcurrencyAllow || s.Environment != runners.EnvStaging {
			t.Fatalf("schedule %s made as %+v, second %d", id, s, second)
		}
	}
	if made.PerSecond <= 0 {
		t.Fatalf("create rate %v, want positive", made.PerSecond)
	}

	for i := range 7 {
		f.fires = append(f.fires, fire("s"+strconv.Itoa(i), at(0, i), runners.FireJobCreated, 0.1))
	}
	fires, err := ReadFires(context.Background(), api, at(0, 0), at(2, 59))
	if err != nil || len(fires) != 7 {
		t.Fatalf("ReadFires = %d fires, %v; want all 7 over three pages", len(fires), err)
	}
	if len(f.queries) != 3 || !strings.Contains(f.queries[0], "limit=500") ||
		!strings.Contains(f.queries[0], "since=2026-12-06T10%3A00%3A00Z") || !strings.Contains(f.queries[0], "until=2026-12-06T10%3A02%3A59Z") ||
		!strings.Contains(f.queries[2], "cursor=6") {
		t.Fatalf("queries %q: want since, until, limit=500 and the cursor followed", f.queries)
	}

	f.made["flaky"], f.made["busy"], f.made["lost-answer"] = spec, spec, spec
	errs = &Errors{}
	failed, err := DeleteSchedules(api, []string{"s0", "s1", "gone", "flaky", "busy", "lost-answer"}, 2, errs)
	if failed != 2 || err == nil || len(f.deleted) != 3 {
		t.Fatalf("DeleteSchedules = %d failed, %v, deleted %v; want gone and busy failed, s0, s1 and flaky deleted", failed, err, f.deleted)
	}
	if f.deleteTries["gone"] != 1 || f.deleteTries["busy"] != deleteTries || f.deleteTries["flaky"] != 2 || f.deleteTries["lost-answer"] != 2 {
		t.Fatalf("tries %v: want a 404 not tried again, a 500 tried again up to %d times", f.deleteTries, deleteTries)
	}
	if got := errs.Snapshot()["schedule-delete"]; got["404"] != 1 || got["500"] != deleteTries+2 {
		t.Fatalf("delete errors %v, want 404×1 and 500×%d", got, deleteTries+2)
	}
}

func TestStatCPU(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want float64
		bad  bool
	}{
		{"user, system and waited-for children", "42 (postgres) S 1 42 42 0 -1 4194560 10 0 0 0 150 50 7 3 20 0 1 0", 2.1, false},
		{"a name with spaces and parentheses", "7 (a (b) c) R 1 7 7 0 -1 0 0 0 0 0 100 0 0 0 20 0", 1, false},
		{"too few fields", "7 (x) R 1 7", 0, true},
		{"no name", "7 x R", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := statCPU([]byte(tc.line))
			if (err != nil) != tc.bad || (!tc.bad && (got < tc.want-1e-9 || got > tc.want+1e-9)) {
				t.Fatalf("statCPU = %v, %v; want %v (error %v)", got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestTreeCPUSeesWork(t *testing.T) {
	before, err := TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for start := time.Now(); time.Since(start) < 300*time.Millisecond; { // burn some CPU
	}
	after, err := TreeCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	spent := CPUSpent(before, after)
	sum := 0.0
	for _, s := range spent {
		sum += s
	}
	if sum < 0.1 {
		t.Fatalf("spent %v after 300ms of work, want at least 0.1s", spent)
	}
	if _, err := TreeCPU(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
	if got := CPUSpent(map[string]float64{"x": 2, "y": 1}, map[string]float64{"x": 1.5, "z": 1}); got["x"] != 0 || got["z"] != 1 || len(got) != 2 {
		t.Fatalf("CPUSpent = %v, want x 0 (gone down), z 1 (new), y gone", got)
	}
}
