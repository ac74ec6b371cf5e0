package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// syncBuffer is a log destination tests read while handlers write.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func asset(name string) runners.Asset {
	return runners.Asset{ID: "a-1", Name: name, Type: runners.AssetSecret, WriteOnly: true, Values: []runners.AssetValue{}}
}

// assetServer serves the asset routes against a stand-in runners service;
// everything the handlers log goes to logs.
func assetServer(t *testing.T, st *scheduleStub, logs io.Writer) *httptest.Server {
	t.Helper()
	url := natstest.URL(t)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	eps := []natsrpc.Endpoint{
		stubbed(st, runners.SubjectAssetList, func(runners.ListAssetsRequest) (runners.ListAssetsResponse, error) {
			return runners.ListAssetsResponse{Items: []runners.Asset{asset("db_login")}}, nil
		}),
		stubbed(st, runners.SubjectAssetCreate, func(r runners.CreateAssetRequest) (runners.Asset, error) {
			if r.Name == "taken" {
				return runners.Asset{}, errs.E(errs.Conflict, `an asset named "taken" exists`)
			}
			return asset(r.Name), nil
		}),
		stubbed(st, runners.SubjectAssetGet, func(r runners.AssetRequest) (runners.Asset, error) {
			if r.Name == "missing" {
				return runners.Asset{}, errs.E(errs.NotFound, "no such asset")
			}
			return asset(r.Name), nil
		}),
		stubbed(st, runners.SubjectAssetUpdate, func(r runners.UpdateAssetRequest) (runners.Asset, error) {
			a := asset(r.Name)
			if r.Description != nil {
				a.Description = *r.Description
			}
			return a, nil
		}),
		stubbed(st, runners.SubjectAssetDelete, func(r runners.AssetRequest) (runners.AssetDeleted, error) {
			return runners.AssetDeleted{Name: r.Name, Deleted: true}, nil
		}),
		stubbed(st, runners.SubjectAssetValueSet, func(r runners.SetAssetValueRequest) (runners.Asset, error) {
			if string(r.Value) == "12" {
				return runners.Asset{}, errs.E(errs.InvalidArgument, "value must be a string for a secret asset")
			}
			return asset(r.Name), nil
		}),
		stubbed(st, runners.SubjectAssetValueDelete, func(r runners.AssetValueRequest) (runners.Asset, error) { return asset(r.Name), nil }),
		stubbed(st, runners.SubjectAgentAssets, func(r runners.AgentAssetsRequest) (runners.AgentAssets, error) {
			switch r.JobID {
			case "job-missing":
				return runners.AgentAssets{}, errs.E(errs.AssetMissing, `asset "db_login" has no value for runner scope`)
			case "job-other":
				return runners.AgentAssets{}, errs.E(errs.PermissionDenied, "this runner does not hold the job")
			}
			return runners.AgentAssets{Items: []runners.AgentAsset{{Name: "api_token", Type: runners.AssetSecret, Scope: runners.ScopeGlobal,
				Value: json.RawMessage(`"s3cr3t-token"`)}}}, nil
		}),
	}
	serveStubs(t, url, log, "stub-assets", eps)
	s := &Server{Log: log, NATS: natsrpc.NewClient(natstest.Connect(t, url), nil)}
	e := gin.New()
	e.Use(web.AccessLog(log))
	for _, r := range s.assetRoutes() {
		e.Handle(r.Method, r.Path, web.Wrap(log, textChecked(r.Handle)))
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func TestAssetRoutes(t *testing.T) {
	st := &scheduleStub{seen: map[string][]any{}}
	logs := &syncBuffer{}
	srv := assetServer(t, st, logs)
	do := func(t *testing.T, method, path, body string, basic bool) (int, http.Header, map[string]any) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if basic {
			req.SetBasicAuth("r-1", "machine-secret")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &out); err != nil {
				t.Fatalf("%s %s: %v in %q", method, path, err, raw)
			}
		}
		return resp.StatusCode, resp.Header, out
	}
	errOf := func(body map[string]any) (string, string) {
		e, _ := body["error"].(map[string]any)
		code, _ := e["code"].(string)
		msg, _ := e["message"].(string)
		return code, msg
	}
	t.Run("a create forwards name, type, description and value and answers 201", func(t *testing.T) {
		code, _, body := do(t, http.MethodPost, "/api/v1/assets", `{"name":"api_token","type":"secret","description":"the API's","value":"hunter2-create"}`, false)
		if code != http.StatusCreated || body["name"] != "api_token" {
			t.Fatalf("%d %v", code, body)
		}
		got, _ := st.last(runners.SubjectAssetCreate).(runners.CreateAssetRequest)
		if got.Name != "api_token" || got.Type != "secret" || got.Description != "the API's" || string(got.Value) != `"hunter2-create"` {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a name in use is the service's 409", func(t *testing.T) {
		code, _, body := do(t, http.MethodPost, "/api/v1/assets", `{"name":"taken","type":"text"}`, false)
		if c, _ := errOf(body); code != http.StatusConflict || c != "conflict" {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("an unknown field is refused before the service", func(t *testing.T) {
		before := st.calls()
		if code, _, _ := do(t, http.MethodPost, "/api/v1/assets", `{"name":"x","type":"text","secret":"y"}`, false); code != http.StatusBadRequest {
			t.Fatalf("%d", code)
		}
		if code, _, _ := do(t, http.MethodPatch, "/api/v1/assets/x", `{"name":"y"}`, false); code != http.StatusBadRequest {
			t.Fatalf("a PATCH renaming: %d", code)
		}
		if st.calls() != before {
			t.Fatal("the refused body reached the service")
		}
	})
	t.Run("list filters reach the service", func(t *testing.T) {
		code, _, body := do(t, http.MethodGet, "/api/v1/assets?type=credential&limit=7&cursor=n", "", false)
		if items, _ := body["items"].([]any); code != http.StatusOK || len(items) != 1 {
			t.Fatalf("%d %v", code, body)
		}
		if got := st.last(runners.SubjectAssetList); got != (runners.ListAssetsRequest{Limit: 7, Cursor: "n", Type: "credential"}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("read, PATCH and delete carry the name; an unknown one is 404", func(t *testing.T) {
		if code, _, body := do(t, http.MethodGet, "/api/v1/assets/db_login", "", false); code != http.StatusOK || body["name"] != "db_login" {
			t.Fatalf("%d %v", code, body)
		}
		if code, _, _ := do(t, http.MethodGet, "/api/v1/assets/missing", "", false); code != http.StatusNotFound {
			t.Fatalf("%d", code)
		}
		code, _, body := do(t, http.MethodPatch, "/api/v1/assets/db_login", `{"description":"new words"}`, false)
		got, _ := st.last(runners.SubjectAssetUpdate).(runners.UpdateAssetRequest)
		if code != http.StatusOK || body["description"] != "new words" || got.Name != "db_login" || got.Description == nil || *got.Description != "new words" {
			t.Fatalf("%d %v %+v", code, body, got)
		}
		if code, _, _ := do(t, http.MethodDelete, "/api/v1/assets/db_login", "", false); code != http.StatusNoContent {
			t.Fatalf("%d", code)
		}
		if got := st.last(runners.SubjectAssetDelete); got != (runners.AssetRequest{Name: "db_login"}) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("each value route names its scope", func(t *testing.T) {
		cases := []struct {
			path string
			want runners.AssetValueRequest
		}{
			{"/api/v1/assets/api_token/values/global", runners.AssetValueRequest{Name: "api_token", Scope: runners.ScopeGlobal}},
			{"/api/v1/assets/api_token/values/environments/Staging", runners.AssetValueRequest{Name: "api_token", Scope: runners.ScopeEnvironment, Environment: "Staging"}},
			{"/api/v1/assets/api_token/values/environments/production", runners.AssetValueRequest{Name: "api_token", Scope: runners.ScopeEnvironment, Environment: "Production"}},
			{"/api/v1/assets/api_token/values/runners/r-7", runners.AssetValueRequest{Name: "api_token", Scope: runners.ScopeRunner, RunnerID: "r-7"}},
		}
		for _, tc := range cases {
			code, _, body := do(t, http.MethodPut, tc.path, `{"value":"hunter2-put"}`, false)
			got, _ := st.last(runners.SubjectAssetValueSet).(runners.SetAssetValueRequest)
			if code != http.StatusOK || got.AssetValueRequest != tc.want || string(got.Value) != `"hunter2-put"` {
				t.Fatalf("PUT %s: %d %v %+v", tc.path, code, body, got)
			}
			code, _, body = do(t, http.MethodDelete, tc.path, "", false)
			if got := st.last(runners.SubjectAssetValueDelete); code != http.StatusOK || got != tc.want {
				t.Fatalf("DELETE %s: %d %v %+v", tc.path, code, body, got)
			}
		}
	})
	t.Run("a refused value is the service's 400 and is not echoed", func(t *testing.T) {
		code, _, body := do(t, http.MethodPut, "/api/v1/assets/api_token/values/global", `{"value":12}`, false)
		if c, msg := errOf(body); code != http.StatusBadRequest || c != "invalid_argument" || strings.Contains(msg, "12") {
			t.Fatalf("%d %v", code, body)
		}
	})
	before := st.calls()
	for _, tc := range []struct{ method, path, body, want string }{
		{http.MethodGet, "/api/v1/assets?type=password", "", "type "},
		{http.MethodGet, "/api/v1/assets?limit=0", "", "limit "},
		{http.MethodPut, "/api/v1/assets/a/values/environments/Moon", `{"value":"x"}`, "environment "},
		{http.MethodDelete, "/api/v1/assets/a/values/environments/productions", "", "environment "},
		{http.MethodPut, "/api/v1/assets/a/values/global", `{}`, "the body must be"},
		{http.MethodPut, "/api/v1/assets/a/values/global", `{"value":null}`, "the body must be"},
		{http.MethodPut, "/api/v1/assets/a/values/global", `{"value":"` + strings.Repeat("x", runners.MaxAssetValueBytes) + `"}`, "value exceeds"},
		{http.MethodGet, "/api/v1/runner/jobs/job-1/assets?attempt=x", "", "attempt "},
	} {
		t.Run("refused before the service: "+tc.method+" "+tc.path[:min(len(tc.path), 60)], func(t *testing.T) {
			code, _, body := do(t, tc.method, tc.path, tc.body, true)
			if c, msg := errOf(body); code != http.StatusBadRequest || c != "invalid_argument" || !strings.HasPrefix(msg, tc.want) {
				t.Fatalf("%d %v", code, body)
			}
		})
	}
	if st.calls() != before {
		t.Fatal("a refused request reached the service")
	}
	t.Run("a runner gets the values with no-store, its credentials and the attempt passed on", func(t *testing.T) {
		code, h, body := do(t, http.MethodGet, runners.JobAssetsPath("job-1", 3), "", true)
		items, _ := body["items"].([]any)
		if code != http.StatusOK || len(items) != 1 || h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" {
			t.Fatalf("%d %v %v", code, h, body)
		}
		got, _ := st.last(runners.SubjectAgentAssets).(runners.AgentAssetsRequest)
		if got.JobID != "job-1" || got.Attempt != 3 || got.Credentials.RunnerID != "r-1" ||
			got.Credentials.SecretSHA256 != runners.SecretSHA256("machine-secret") {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a runner without HTTP Basic is a 401 asking for it", func(t *testing.T) {
		code, h, _ := do(t, http.MethodGet, runners.JobAssetsPath("job-1", 1), "", false)
		if code != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Basic") || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v", code, h)
		}
	})
	t.Run("asset_missing is a 409 and a job not held a 403, both no-store", func(t *testing.T) {
		code, h, body := do(t, http.MethodGet, runners.JobAssetsPath("job-missing", 1), "", true)
		if c, msg := errOf(body); code != http.StatusConflict || c != "asset_missing" || !strings.Contains(msg, "db_login") || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("%d %v %v", code, h, body)
		}
		code, _, body = do(t, http.MethodGet, runners.JobAssetsPath("job-other", 1), "", true)
		if c, _ := errOf(body); code != http.StatusForbidden || c != "permission_denied" {
			t.Fatalf("%d %v", code, body)
		}
	})
	t.Run("no value reaches the logs", func(t *testing.T) {
		out := logs.String()
		if out == "" {
			t.Fatal("nothing was logged: the check below would prove nothing")
		}
		for _, secret := range []string{"hunter2", "s3cr3t-token", "machine-secret"} {
			if strings.Contains(out, secret) {
				t.Fatalf("the logs hold %q:\n%s", secret, out)
			}
		}
	})
}
