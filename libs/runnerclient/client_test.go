package runnerclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

const (
	testID     = "0b0c5f5e-8d7e-4b64-9c55-3b1f8f0e7a11"
	testSecret = "exk_ms_0123456789abcdef0123456789abcdef0123456789"
)

// hub stands in for the gateway: it records every request and answers
// with respond (given the request's number, from 0).
type hub struct {
	srv     *httptest.Server
	mu      sync.Mutex
	reqs    []seen
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

type seen struct {
	method, path, query string
	header              http.Header
	body                []byte
	user, pass          string
}

func newHub(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *hub {
	t.Helper()
	h := &hub{respond: respond}
	h.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		user, pass, _ := r.BasicAuth()
		h.mu.Lock()
		n := len(h.reqs)
		h.reqs = append(h.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body, user, pass})
		h.mu.Unlock()
		h.respond(n, w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hub) requests() []seen {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.reqs)
}

// apiError answers status with an API error and extra headers.
func apiError(w http.ResponseWriter, status int, code string, headers ...string) {
	for i := 0; i+1 < len(headers); i += 2 {
		w.Header().Set(headers[i], headers[i+1])
	}
	w.WriteHeader(status)
	io.WriteString(w, `{"error":{"code":"`+code+`","message":"test"}}`)
}

// fixture is a client of h with a recorded sleep and a log.
type fixture struct {
	c     *Client
	logs  *bytes.Buffer
	mu    sync.Mutex
	waits []time.Duration
}

func newClient(t *testing.T, h *hub) *fixture {
	t.Helper()
	f := &fixture{logs: &bytes.Buffer{}}
	c, err := New(Config{Hub: h.srv.URL + "/", RunnerID: testID, Secret: testSecret, HTTP: h.srv.Client(),
		Log:    slog.New(slog.NewJSONHandler(f.logs, nil)),
		Random: func() float64 { return 0.5 },
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			f.waits = append(f.waits, d)
			f.mu.Unlock()
			return ctx.Err()
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	t.Cleanup(func() {
		if strings.Contains(f.logs.String(), testSecret[7:]) {
			t.Error("the secret is in the log")
		}
	})
	return f
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no hub":            {RunnerID: testID, Secret: testSecret},
		"not a URL":         {Hub: "hub:8443", RunnerID: testID, Secret: testSecret},
		"ftp":               {Hub: "ftp://hub", RunnerID: testID, Secret: testSecret},
		"credentials":       {Hub: "https://u:p@hub", RunnerID: testID, Secret: testSecret},
		"query":             {Hub: "https://hub?x=1", RunnerID: testID, Secret: testSecret},
		"no id":             {Hub: "https://hub", Secret: testSecret},
		"colon in id":       {Hub: "https://hub", RunnerID: "a:b", Secret: testSecret},
		"no secret":         {Hub: "https://hub", RunnerID: testID},
		"newline in secret": {Hub: "https://hub", RunnerID: testID, Secret: "a\nb"},
	} {
		if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "runnerclient: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestHeartbeat(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, `{"heartbeat_interval_seconds":20,"server_time":"2026-06-01T12:00:00Z","cancel_job_ids":["j1"]}`)
	})
	f := newClient(t, h)
	resp, err := f.c.Heartbeat(context.Background(), runners.Heartbeat{Version: "v1", OS: "linux/amd64", Hostname: "h"})
	if err != nil || resp.HeartbeatIntervalSeconds != 20 || !slices.Equal(resp.CancelJobIDs, []string{"j1"}) {
		t.Fatalf("%+v %v", resp, err)
	}
	r := h.requests()[0]
	t.Run("it posts to the heartbeat route with Basic credentials and the protocol's headers", func(t *testing.T) {
		if r.method != http.MethodPost || r.path != runners.PathHeartbeat || r.user != testID || r.pass != testSecret {
			t.Fatalf("%s %s %q", r.method, r.path, r.user)
		}
		if r.header.Get(runners.HeaderProtocol) != runners.ProtocolVersion || !strings.HasPrefix(r.header.Get("User-Agent"), runners.UserAgentPrefix) ||
			r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("headers %v", r.header)
		}
	})
	t.Run("the body is the contract's, running_job_ids a list", func(t *testing.T) {
		var hb runners.Heartbeat
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&hb); err != nil || hb.Version != "v1" || !bytes.Contains(r.body, []byte(`"running_job_ids":[]`)) {
			t.Fatalf("%s: %v", r.body, err)
		}
	})
}

func TestCredentialsRefusedIsClear(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { apiError(w, 401, "invalid_credentials") })
	f := newClient(t, h)
	ctx := context.Background()
	_, hbErr := f.c.Heartbeat(ctx, runners.Heartbeat{})
	_, claimErr := f.c.Claim(ctx, time.Second, "c")
	_, logsErr := f.c.UploadLogs(ctx, "j", 1, nil)
	complErr := f.c.Complete(ctx, "j", runners.CompleteBody{Status: runners.JobSucceeded})
	dlErr := f.c.Download(ctx, runners.PackageRef{Name: "p", Version: "1.0.0", SHA256: strings.Repeat("0", 64)}, io.Discard)
	for _, err := range []error{hbErr, claimErr, logsErr, complErr, dlErr} {
		if !errors.Is(err, ErrCredentialsRefused) || Status(err) != 401 || !Permanent(err) ||
			!strings.Contains(err.Error(), "regenerated") || !strings.Contains(err.Error(), "deleted") {
			t.Fatalf("%v", err)
		}
		if strings.Contains(err.Error(), testSecret[7:]) {
			t.Fatal("the secret is in the error")
		}
	}
	t.Run("NextJob gives up at once", func(t *testing.T) {
		n := len(h.requests())
		job, err := f.c.NextJob(ctx, time.Second)
		if job != nil || !errors.Is(err, ErrCredentialsRefused) || len(h.requests()) != n+1 || len(f.waits) != 0 {
			t.Fatalf("%v %v, %d requests, waits %v", job, err, len(h.requests())-n, f.waits)
		}
	})
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	h := newHub(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 0:
			apiError(w, 429, "rate_limited", "Retry-After", "7")
		case 1:
			apiError(w, 503, "unavailable", "Retry-After", "2")
		case 2:
			apiError(w, 503, "unavailable")
		case 3:
			apiError(w, 503, "unavailable", "Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	f := newClient(t, h)
	err := f.c.Retry(context.Background(), Retry{Op: "log upload"}, func(ctx context.Context) error {
		_, err := f.c.UploadLogs(ctx, "j", 1, nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Retry-After 7 -> 7 s plus 0.5 of 10 %; 2 -> 2.1 s; none -> the third
	// failure's backoff, 0.5 of 4 s; an hour's date -> capped at 10 minutes.
	want := []time.Duration{7350 * time.Millisecond, 2100 * time.Millisecond, 2 * time.Second, MaxRetryAfter + MaxRetryAfter/20}
	if !slices.Equal(f.waits, want) {
		t.Fatalf("waits %v, want %v", f.waits, want)
	}
	if logs := f.logs.String(); strings.Count(logs, "log upload failed; retrying") != 4 || !strings.Contains(logs, `"status":429`) ||
		!strings.Contains(logs, "rate_limited") {
		t.Fatalf("logs %s", logs)
	}
}

func TestRetryBacksOff(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { apiError(w, 500, "internal") })
	f := newClient(t, h)
	err := f.c.Retry(context.Background(), Retry{Op: "complete", Attempts: 10}, func(ctx context.Context) error {
		return f.c.Complete(ctx, "j", runners.CompleteBody{Status: runners.JobFailed})
	})
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second,
		16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	if Status(err) != 500 || len(h.requests()) != 10 || !slices.Equal(f.waits, want) {
		t.Fatalf("%v, %d requests, waits %v", err, len(h.requests()), f.waits)
	}
	if !strings.Contains(err.Error(), "complete: the Hub answered 500 Internal Server Error: internal: test") {
		t.Fatalf("message %q", err)
	}
}

func TestRetryStopsOnRefusals(t *testing.T) {
	for status, final := range map[int]bool{400: true, 403: true, 404: true, 409: true, 408: false, 429: false, 502: false} {
		h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { apiError(w, status, "x") })
		f := newClient(t, h)
		err := f.c.Retry(context.Background(), Retry{Op: "complete", Attempts: 3}, func(ctx context.Context) error {
			return f.c.Complete(ctx, "j", runners.CompleteBody{Status: runners.JobFailed})
		})
		calls := map[bool]int{true: 1, false: 3}[final]
		if Status(err) != status || Permanent(err) != final || len(h.requests()) != calls {
			t.Errorf("%d: %v, permanent %v, %d calls", status, err, Permanent(err), len(h.requests()))
		}
	}
}

func TestRetryEndsWithTheContext(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { apiError(w, 503, "unavailable") })
	c, err := New(Config{Hub: h.srv.URL, RunnerID: testID, Secret: testSecret, HTTP: h.srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	// Long enough for the first answer on a loaded machine (a TLS handshake
	// under -race), short beside the retry's minutes-long budget.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	err = c.Retry(ctx, Retry{Op: "complete"}, func(ctx context.Context) error {
		return c.Complete(ctx, "j", runners.CompleteBody{Status: runners.JobFailed})
	})
	if Status(err) != 503 || ctx.Err() == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("%v after %s", err, time.Since(start))
	}
}

func TestNextJobKeepsItsClaimID(t *testing.T) {
	job := runners.ClaimedJob{ID: "job-1", Attempt: 2, Package: runners.PackageRef{Name: "p", Version: "1.0.0"}}
	h := newHub(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 0:
			apiError(w, 503, "unavailable", "Retry-After", "0") // as if the reply holding the job were lost
		case 1:
			apiError(w, 502, "bad_gateway")
		case 2:
			json.NewEncoder(w).Encode(job)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	f := newClient(t, h)
	got, err := f.c.NextJob(context.Background(), 25*time.Second)
	if err != nil || got == nil || got.ID != "job-1" || got.Attempt != 2 {
		t.Fatalf("%+v %v", got, err)
	}
	none, err := f.c.NextJob(context.Background(), 25*time.Second)
	if err != nil || none != nil {
		t.Fatalf("204: %+v %v", none, err)
	}
	reqs := h.requests()
	ids, firsts := []string{}, []string{}
	for _, r := range reqs {
		if r.method != http.MethodPost || r.path != runners.PathClaim || r.query != "wait=25" {
			t.Fatalf("%s %s?%s", r.method, r.path, r.query)
		}
		ids = append(ids, r.header.Get(runners.HeaderClaimID))
		firsts = append(firsts, r.header.Get(runners.HeaderClaimFirst))
	}
	if len(ids) != 4 || ids[0] == "" || ids[1] != ids[0] || ids[2] != ids[0] || ids[3] == ids[0] || len(ids[3]) != 32 {
		t.Fatalf("claim ids %q: the retries keep the id, the next claim has a new one", ids)
	}
	if !slices.Equal(firsts, []string{"true", "", "", "true"}) {
		t.Fatalf("%s %q: only the first send of an id says so", runners.HeaderClaimFirst, firsts)
	}
	if len(f.waits) != 2 || f.waits[1] != time.Second { // 0.5 of the second failure's 2 s
		t.Fatalf("waits %v", f.waits)
	}
}

func TestClaimRefusesAReplyWithoutAJob(t *testing.T) {
	h := newHub(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 0 {
			io.WriteString(w, `{"id":""}`)
			return
		}
		io.WriteString(w, `not json`)
	})
	f := newClient(t, h)
	for range 2 {
		if job, err := f.c.Claim(context.Background(), 0, ""); job != nil || !errors.Is(err, ErrBadReply) || Permanent(err) {
			t.Fatalf("%+v %v", job, err)
		}
	}
	if h.requests()[0].header.Get(runners.HeaderClaimID) != "" || h.requests()[0].query != "wait=0" {
		t.Fatalf("no claim id is sent when none is given: %v", h.requests()[0].header)
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDownload(t *testing.T) {
	data := []byte("the package's bytes")
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.Write(data) })
	f := newClient(t, h)
	ctx := context.Background()
	good := runners.PackageRef{Name: "etl job", Version: "1.0.0", SHA256: sum(data), SizeBytes: int64(len(data))}
	t.Run("the announced bytes are written", func(t *testing.T) {
		var buf bytes.Buffer
		if err := f.c.Download(ctx, good, &buf); err != nil || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("%q %v", buf.Bytes(), err)
		}
		r := h.requests()[0]
		if r.method != http.MethodGet || r.path != "/api/v1/runner/packages/etl job/1.0.0" || r.user != testID {
			t.Fatalf("%s %s", r.method, r.path)
		}
	})
	t.Run("a SHA-256 mismatch is refused for good", func(t *testing.T) {
		bad := good
		bad.SHA256 = strings.Repeat("ab", 32)
		err := f.c.Download(ctx, bad, io.Discard)
		if !IsPackageError(err) || !Permanent(err) || !strings.Contains(err.Error(), "SHA-256 mismatch") {
			t.Fatal(err)
		}
	})
	t.Run("more or fewer bytes than announced are refused", func(t *testing.T) {
		for _, size := range []int64{good.SizeBytes - 1, good.SizeBytes + 1} {
			short := good
			short.SizeBytes = size
			if err := f.c.Download(ctx, short, io.Discard); !IsPackageError(err) || !strings.Contains(err.Error(), "bytes") {
				t.Fatal(err)
			}
		}
	})
	t.Run("a claim without a usable checksum is refused before asking", func(t *testing.T) {
		n := len(h.requests())
		for _, ref := range []runners.PackageRef{
			{Name: "p", Version: "1", SHA256: "xyz", SizeBytes: 1},
			{Name: "p", Version: "1", SHA256: strings.ToUpper(good.SHA256), SizeBytes: 1},
			{Name: "p", Version: "1", SHA256: good.SHA256, SizeBytes: -1},
			{Name: "", Version: "1", SHA256: good.SHA256},
		} {
			if err := f.c.Download(ctx, ref, io.Discard); !Permanent(err) {
				t.Fatalf("%+v: %v", ref, err)
			}
		}
		if len(h.requests()) != n {
			t.Fatal("a request was made")
		}
	})
}

func TestUploadLogs(t *testing.T) {
	h := newHub(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		switch n {
		case 0:
			w.WriteHeader(http.StatusNoContent)
		case 1:
			w.Header().Set(runners.HeaderCancelRequested, "true")
			w.WriteHeader(http.StatusNoContent)
		default:
			io.WriteString(w, `{"cancel_requested":true}`)
		}
	})
	f := newClient(t, h)
	ctx := context.Background()
	lines := []runners.AgentLogLine{{TS: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC), Stream: "stdout", Message: "hi"}}
	for i, want := range []bool{false, true, true} {
		if cancel, err := f.c.UploadLogs(ctx, "job/1", 3, lines); err != nil || cancel != want {
			t.Fatalf("%d: %v %v", i, cancel, err)
		}
	}
	r := h.requests()[0]
	var body runners.LogsBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || r.path != "/api/v1/runner/jobs/job/1/logs" || body.Attempt != 3 || len(body.Lines) != 1 {
		t.Fatalf("%s %s: %v", r.path, r.body, err)
	}
	t.Run("taking a job up sends an empty list", func(t *testing.T) {
		if _, err := f.c.UploadLogs(ctx, "j", 1, nil); err != nil {
			t.Fatal(err)
		}
		if reqs := h.requests(); !bytes.Equal(reqs[len(reqs)-1].body, []byte(`{"lines":[],"attempt":1}`)) {
			t.Fatalf("%s", reqs[len(reqs)-1].body)
		}
	})
	t.Run("an empty job id is refused", func(t *testing.T) {
		if _, err := f.c.UploadLogs(ctx, "", 1, nil); !errors.Is(err, ErrBadInput) || !Permanent(err) {
			t.Fatal(err)
		}
	})
}

func TestComplete(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f := newClient(t, h)
	ctx := context.Background()
	exit := 3
	if err := f.c.Complete(ctx, "j1", runners.CompleteBody{Status: runners.JobFailed, ExitCode: &exit, Error: "exit code 3", Attempt: 2}); err != nil {
		t.Fatal(err)
	}
	if err := f.c.Complete(ctx, "j2", runners.CompleteBody{Status: runners.JobSucceeded, ExitCode: new(int), Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	reqs := h.requests()
	if reqs[0].path != "/api/v1/runner/jobs/j1/complete" ||
		string(reqs[0].body) != `{"status":"failed","exit_code":3,"error":"exit code 3","attempt":2}` ||
		string(reqs[1].body) != `{"status":"succeeded","exit_code":0,"attempt":1}` {
		t.Fatalf("%s %s / %s", reqs[0].path, reqs[0].body, reqs[1].body)
	}
	for _, status := range []string{"", "running", "SUCCEEDED"} {
		if err := f.c.Complete(ctx, "j", runners.CompleteBody{Status: status}); !errors.Is(err, ErrBadInput) {
			t.Fatalf("%q: %v", status, err)
		}
	}
	if len(h.requests()) != 2 {
		t.Fatal("a bad completion was sent")
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	other := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := newHub(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.srv.URL+r.URL.Path, http.StatusTemporaryRedirect)
	})
	f := newClient(t, h)
	if err := f.c.Complete(context.Background(), "j", runners.CompleteBody{Status: runners.JobSucceeded}); Status(err) != 307 {
		t.Fatal(err)
	}
	if len(other.requests()) != 0 {
		t.Fatal("the credentials followed a redirect")
	}
}

func TestTLS(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	call := func(caFile, fingerprint string) error {
		tc, err := TLSConfig(caFile, fingerprint)
		if err != nil {
			return err
		}
		c, err := New(Config{Hub: h.srv.URL, RunnerID: testID, Secret: testSecret, HTTP: NewHTTPClient(tc)})
		if err != nil {
			return err
		}
		_, err = c.UploadLogs(context.Background(), "j", 1, nil)
		return err
	}
	pin := sum(h.srv.Certificate().Raw)
	t.Run("the system's roots do not trust a self-signed Hub", func(t *testing.T) {
		if err := call("", ""); !IsCertificateError(err) || Permanent(err) || FailureLevel(err) != slog.LevelError {
			t.Fatal(err)
		}
	})
	t.Run("a pinned fingerprint is trusted, with colons and in capitals", func(t *testing.T) {
		colons := strings.ToUpper(pin[:2] + ":" + pin[2:])
		if err := call("", colons); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a wrong pin is refused", func(t *testing.T) {
		err := call("", strings.Repeat("ab", 32))
		var pe *PinError
		if !errors.As(err, &pe) || !IsCertificateError(err) || !strings.Contains(err.Error(), "does not match") {
			t.Fatal(err)
		}
	})
	t.Run("the Hub's certificate as a CA file is trusted", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hub.crt")
		os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: h.srv.Certificate().Raw}), 0o644)
		if err := call(path, ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad trust settings are refused clearly", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "empty.crt")
		os.WriteFile(empty, []byte("nothing"), 0o644)
		for _, args := range [][2]string{{"/nonexistent/ca.crt", ""}, {empty, ""}, {"", "abc"}} {
			if _, err := TLSConfig(args[0], args[1]); err == nil {
				t.Fatalf("%q accepted", args)
			}
		}
	})
}

func TestFailureLevel(t *testing.T) {
	for name, tt := range map[string]struct {
		err  error
		want slog.Level
	}{
		"a network error passes by itself":                {errors.New("connection refused"), slog.LevelWarn},
		"a 503 passes by itself":                          {&HubError{Op: "claim", Status: 503}, slog.LevelWarn},
		"a 429 passes by itself":                          {&HubError{Op: "claim", Status: 429}, slog.LevelWarn},
		"a refused protocol needs a person":               {&HubError{Op: "claim", Status: 400}, slog.LevelError},
		"refused credentials need a person":               {&HubError{Op: "claim", Status: 401}, slog.LevelError},
		"a certificate no longer matching needs a person": {&PinError{Got: []byte{1}}, slog.LevelError},
	} {
		if got := FailureLevel(tt.err); got != tt.want {
			t.Errorf("%s: %s, want %s", name, got, tt.want)
		}
	}
}

// A claim the busy Hub asks to repeat (204 Exekra-Claim-Repeat) is asked
// again at once under the same id: no failure, no backoff.
func TestNextJobRepeatsAnUnfinishedClaim(t *testing.T) {
	job := runners.ClaimedJob{ID: "job-1", Attempt: 1, Package: runners.PackageRef{Name: "p", Version: "1.0.0"}}
	h := newHub(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 2 {
			w.Header().Set(runners.HeaderClaimRepeat, "true")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		json.NewEncoder(w).Encode(job)
	})
	f := newClient(t, h)
	got, err := f.c.NextJob(context.Background(), 25*time.Second)
	if err != nil || got == nil || got.ID != "job-1" {
		t.Fatalf("%+v %v", got, err)
	}
	reqs := h.requests()
	if len(reqs) != 3 || reqs[1].header.Get(runners.HeaderClaimID) != reqs[0].header.Get(runners.HeaderClaimID) ||
		reqs[2].header.Get(runners.HeaderClaimID) != reqs[0].header.Get(runners.HeaderClaimID) {
		t.Fatalf("%d claims; want 3 under one claim id", len(reqs))
	}
	if len(f.waits) != 0 {
		t.Fatalf("backed off %v; a repeat is no failure", f.waits)
	}
}

// A client set to start on claim asks every claim to take its job up; one
// that is not never does.
func TestClaimStartHeader(t *testing.T) {
	h := newHub(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	plain := newClient(t, h)
	starting, err := New(Config{Hub: h.srv.URL, RunnerID: testID, Secret: testSecret, HTTP: h.srv.Client(), StartOnClaim: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Client{plain.c, starting} {
		if _, err := c.NextJob(context.Background(), time.Second); err != nil {
			t.Fatal(err)
		}
	}
	reqs := h.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if got := reqs[0].header.Values(runners.HeaderClaimStart); len(got) != 0 {
		t.Fatalf("a plain client sent %s %q", runners.HeaderClaimStart, got)
	}
	if got := reqs[1].header.Get(runners.HeaderClaimStart); got != "true" {
		t.Fatalf("a client starting on claim sent %s %q", runners.HeaderClaimStart, got)
	}
}
