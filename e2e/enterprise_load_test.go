package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// load is a steady stream of job starts and API calls through the load
// balancer, as users and their tools would send them: an answer that says
// the Hub is busy or away (502, 503, 504, 429, no answer) is retried, the
// way exekractl and the console retry (job starts under one
// Idempotency-Key); any other unexpected answer is a problem.
type load struct {
	h        *hub // its gateway is the load balancer
	opTok    string
	adminTok string
	opEmail  string
	params   map[string]any
	ledger   string
	stop     chan struct{}
	wg       sync.WaitGroup
	began    time.Time

	mu       sync.Mutex
	jobs     []string // acknowledged (201) job starts
	users    []string // acknowledged user creations
	logins   int      // acknowledged sign-ins of the operator
	calls    int      // calls answered as expected
	retries  int      // attempts answered "busy or away" and sent again
	longest  time.Duration
	problems []string
}

// callTimeout bounds one logical call, retries included: the longest a
// client is expected to wait for the Hub through any one fault.
const callTimeout = 60 * time.Second

func (ld *load) start(starters int) {
	ld.stop, ld.began = make(chan struct{}), time.Now()
	for range starters {
		ld.wg.Go(ld.startJobs)
	}
	ld.wg.Go(ld.callAPI)
}

func (ld *load) halt() {
	close(ld.stop)
	ld.wg.Wait()
}

func (ld *load) stopped() bool {
	select {
	case <-ld.stop:
		return true
	default:
		return false
	}
}

// do sends one call until it gets an answer other than busy-or-away and
// reports the answer and whether the call was sent more than once.
func (ld *load) do(a *api, method, path string, body any) (int, []byte, bool) {
	began := time.Now()
	sent := 0
	for {
		status, raw, err := a.try(method, path, body)
		sent++
		busy := err != nil || status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
			status == http.StatusGatewayTimeout || status == http.StatusTooManyRequests
		if !busy || time.Since(began) > callTimeout {
			ld.mu.Lock()
			ld.longest = max(ld.longest, time.Since(began))
			ld.retries += sent - 1
			ld.mu.Unlock()
			if busy {
				ld.problem("%s %s: still %d (%v) after %s", method, path, status, err, callTimeout)
			}
			return status, raw, sent > 1
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (ld *load) problem(format string, args ...any) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.problems = append(ld.problems, fmt.Sprintf("%5.1fs: ", time.Since(ld.began).Seconds())+fmt.Sprintf(format, args...))
}

// expect records an answer: as expected, or a problem.
func (ld *load) expect(method, path string, status, want int, raw []byte) bool {
	if status != want {
		ld.problem("%s %s = %d %.300s, want %d", method, path, status, raw, want)
		return false
	}
	ld.mu.Lock()
	ld.calls++
	ld.mu.Unlock()
	return true
}

// startJobs starts ledger jobs one after another, each under its own
// Idempotency-Key, repeated until acknowledged.
func (ld *load) startJobs() {
	body := map[string]any{"package": "ledger", "environment": "Development", "parameters": ld.params}
	for !ld.stopped() {
		a := ld.h.as(ld.opTok).with("Idempotency-Key", rand.Text())
		status, raw, _ := ld.do(a, "POST", "/api/v1/jobs", body)
		if ld.expect("POST", "/api/v1/jobs", status, http.StatusCreated, raw) {
			var job map[string]any
			json.Unmarshal(raw, &job)
			id, _ := job["id"].(string)
			ld.mu.Lock()
			ld.jobs = append(ld.jobs, id)
			ld.mu.Unlock()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// callAPI reads what users read, signs the operator in again and again,
// and has the admin create users.
func (ld *load) callAPI() {
	op, admin := ld.h.as(ld.opTok), ld.h.as(ld.adminTok)
	for i := 0; !ld.stopped(); i++ {
		switch i % 6 {
		case 0, 2, 4:
			path := []string{"/api/v1/runners?limit=10", "/api/v1/jobs?limit=10", "/api/v1/packages", "/api/v1/auth/me"}[i/2%4]
			status, raw, _ := ld.do(op, "GET", path, nil)
			ld.expect("GET", path, status, http.StatusOK, raw)
		case 1:
			status, raw, _ := ld.do(ld.h.as(""), "POST", "/api/v1/auth/login", map[string]string{"email": ld.opEmail, "password": goodPassword})
			if ld.expect("POST", "/api/v1/auth/login", status, http.StatusOK, raw) {
				ld.mu.Lock()
				ld.logins++
				ld.mu.Unlock()
			}
		case 3:
			ld.createUser(admin, fmt.Sprintf("load-%d-%s@acme.test", i, strings.ToLower(rand.Text()[:6])))
		case 5:
			status, raw, _ := ld.do(admin, "GET", "/api/v1/audit?limit=5", nil)
			ld.expect("GET", "/api/v1/audit", status, http.StatusOK, raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// createUser creates a user; a 409 after a repeat means the first attempt
// created it (its answer was lost), so the user is looked up by email.
func (ld *load) createUser(admin *api, email string) {
	status, raw, repeated := ld.do(admin, "POST", "/api/v1/users", map[string]string{"email": email, "password": goodPassword, "name": "Load", "role": "OPERATOR"})
	var u map[string]any
	if status == http.StatusConflict && repeated {
		status, raw, _ = ld.do(admin, "GET", "/api/v1/users?limit=500", nil)
		if !ld.expect("GET", "/api/v1/users", status, http.StatusOK, raw) {
			return
		}
		var page struct{ Items []map[string]any }
		json.Unmarshal(raw, &page)
		for _, it := range page.Items {
			if strings.EqualFold(fmt.Sprint(it["email"]), email) {
				u = it
			}
		}
	} else if ld.expect("POST", "/api/v1/users", status, http.StatusCreated, raw) {
		json.Unmarshal(raw, &u)
	}
	if id, _ := u["id"].(string); id != "" {
		ld.mu.Lock()
		ld.users = append(ld.users, id)
		ld.mu.Unlock()
	}
}

// snapshot returns copies of what was acknowledged so far.
func (ld *load) snapshot() (jobs, users []string, logins, calls int) {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return append([]string(nil), ld.jobs...), append([]string(nil), ld.users...), ld.logins, ld.calls
}

// ranSince returns the ledger's runs of jobs acknowledged after the first n.
func (ld *load) ranSince(n int) int {
	jobs, _, _, _ := ld.snapshot()
	later := map[string]bool{}
	for _, id := range jobs[min(n, len(jobs)):] {
		later[id] = true
	}
	raw, _ := os.ReadFile(ld.ledger)
	runs := 0
	for line := range strings.Lines(string(raw)) {
		if f := strings.Fields(line); len(f) > 0 && later[f[0]] {
			runs++
		}
	}
	return runs
}

// waitProgress waits, after a fault, until jobs started after it have run
// and more API calls were answered, and at least dwell has passed: the flow
// keeps going with the fault in place.
func (ld *load) waitProgress(t *testing.T, what string, dwell, within time.Duration) {
	t.Helper()
	jobs0, _, _, calls0 := ld.snapshot()
	began := time.Now()
	var took time.Duration
	waitFor(t, within, "jobs started after "+what+" run, and API calls answered", func() bool {
		_, _, _, calls := ld.snapshot()
		if took == 0 && ld.ranSince(len(jobs0)) >= 3 && calls >= calls0+4 {
			took = time.Since(began)
		}
		return took > 0 && time.Since(began) >= dwell
	})
	t.Logf("after %s: jobs started after it ran and API calls were answered within %.1fs", what, took.Seconds())
}

// listAll pages through a list endpoint (?limit=500&cursor=).
func listAll(t *testing.T, a *api, path string, q url.Values) []map[string]any {
	t.Helper()
	var out []map[string]any
	q.Set("limit", "500")
	for {
		page := a.must(http.StatusOK, "GET", path+"?"+q.Encode(), nil)
		for _, it := range page["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		cur, _ := page["next_cursor"].(string)
		if cur == "" {
			return out
		}
		q.Set("cursor", cur)
	}
}

// auditCounts counts the log's successful events of action by target id
// (by actor id when byActor).
func auditCounts(t *testing.T, admin *api, action string, byActor bool) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for _, ev := range listAll(t, admin, "/api/v1/audit", url.Values{"action": {action}}) {
		if ev["outcome"] != "success" {
			continue
		}
		key := ev["target"].(map[string]any)["id"]
		if byActor {
			key = ev["actor"].(map[string]any)["id"]
		}
		counts[fmt.Sprint(key)]++
	}
	return counts
}

// missing lists the ids in want that counts holds fewer than n times.
func missing(counts map[string]int, want []string, n int) []string {
	var out []string
	for _, id := range want {
		if counts[id] < n {
			out = append(out, id+" ("+strconv.Itoa(counts[id])+")")
		}
	}
	return out
}
