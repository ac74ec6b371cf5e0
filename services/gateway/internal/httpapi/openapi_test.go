package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/metrics"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/gin-gonic/gin"
)

// loadDocument builds the document of the route table and loads it back
// from its JSON, as a client would read it.
func loadDocument(t *testing.T) (*openapi3.T, []byte) {
	t.Helper()
	doc, err := Document((&Server{}).Routes())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := doc.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	return loaded, raw
}

func TestDocumentIsValidOpenAPI(t *testing.T) {
	doc, _ := loadDocument(t)
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// bareEngine is the gateway's engine without back-end services: enough to
// see its routes and the answers that need none.
func bareEngine(t *testing.T) (*gin.Engine, *Server) {
	t.Helper()
	s := &Server{Log: logger.NewWriter(io.Discard, "gateway", slog.LevelError), Metrics: metrics.New("gateway"), MaxBodyBytes: 1 << 10}
	e, err := s.Engine(nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, s
}

func TestDocumentHasEveryAPIRouteAndNoOther(t *testing.T) {
	doc, _ := loadDocument(t)
	e, _ := bareEngine(t)
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if strings.HasPrefix(r.Path, "/api/") {
			served[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
		}
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for k := range served {
		if !documented[k] {
			t.Errorf("%s is served but not documented", k)
		}
	}
	for k := range documented {
		if !served[k] {
			t.Errorf("%s is documented but not served", k)
		}
	}
	if !documented["GET "+PathOpenAPI] {
		t.Error("the document does not describe its own route")
	}
}

// TestEveryOperationStatesItsContract checks what every operation must say:
// who may call it, an answer for success and for each error its kind of
// route can meet, and the error envelope for every error.
func TestEveryOperationStatesItsContract(t *testing.T) {
	doc, _ := loadDocument(t)
	errorSchema := doc.Components.Schemas["Error"].Value
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			if op.OperationID == "" || len(op.Tags) != 1 || op.Summary == "" || op.Description == "" || op.Security == nil {
				t.Errorf("%s lacks an operationId, a tag, a summary, a description or security", name)
			}
			var ok, client bool
			for code, ref := range op.Responses.Map() {
				status, _ := strconv.Atoi(code)
				ok = ok || status/100 == 2 || status == http.StatusFound // a browser route may answer with a redirect only
				client = client || status/100 == 4
				if ref.Value.Headers["X-Request-Id"] == nil {
					t.Errorf("%s %d does not document X-Request-Id", name, status)
				}
				if status >= 400 && !(path == "/api/health" && status == http.StatusServiceUnavailable) {
					if mt := ref.Value.Content.Get(mediaJSON); mt == nil || mt.Schema.Value != errorSchema {
						t.Errorf("%s %d is not the error envelope", name, status)
					}
				}
			}
			if !ok || !client {
				t.Errorf("%s documents no success or no client error", name)
			}
			for _, status := range []int{http.StatusBadRequest, http.StatusInternalServerError} {
				if op.Responses.Status(status) == nil {
					t.Errorf("%s does not document %d", name, status)
				}
			}
			if rb := op.RequestBody; rb != nil {
				if mt := rb.Value.Content.Get(mediaJSON); mt != nil {
					if ap := mt.Schema.Value.AdditionalProperties.Has; ap == nil || *ap {
						t.Errorf("%s takes a JSON body that is not closed: the API refuses unknown fields", name)
					}
					if op.Responses.Status(http.StatusRequestEntityTooLarge) == nil {
						t.Errorf("%s takes a body but does not document 413", name)
					}
				}
			}
		}
	}
}

func TestHealthAnswers503WithItsReport(t *testing.T) {
	doc, _ := loadDocument(t)
	op := doc.Paths.Value("/api/health").Get
	report := doc.Components.Schemas["HealthReport"].Value
	for _, status := range []int{http.StatusOK, http.StatusServiceUnavailable} {
		if got := op.Responses.Status(status).Value.Content.Get(mediaJSON).Schema.Value; got != report {
			t.Errorf("health %d is not the HealthReport", status)
		}
	}
	degraded := map[string]any{"status": "degraded", "version": "x", "commit": "0123456789ab", "uptime_seconds": 1, "database": map[string]any{"status": "unknown", "latency_ms": 0},
		"nats": "up", "redis": "down", "services": map[string]any{"identity": "up", "licensing": "down", "runners": "up", "audit": "up"}}
	if err := report.VisitJSON(degraded); err != nil {
		t.Fatalf("a degraded report does not match: %v", err)
	}
	degraded["services"].(map[string]any)["audit"] = "sleeping"
	if err := report.VisitJSON(degraded); err == nil {
		t.Fatal("a service state that is neither up nor down passed")
	}
}

func TestErrorCodesAreTheKindsAndTheirStatuses(t *testing.T) {
	doc, _ := loadDocument(t)
	var codes []string
	for _, v := range doc.Components.Schemas["ErrorDetail"].Value.Properties["code"].Value.Enum {
		codes = append(codes, v.(string))
	}
	if len(codes) != len(errorCodes) {
		t.Fatalf("documented codes %v", codes)
	}
	for _, k := range errorCodes {
		if !k.Known() {
			t.Errorf("%s is no errs.Kind", k)
		}
		reply, ok := errorReplies[k.HTTPStatus()]
		if !ok || !strings.Contains(reply.description, string(k)) {
			t.Errorf("the %d answer does not name %s, which errs maps to it", k.HTTPStatus(), k)
		}
	}
}

// TestDocumentedPageLimitsAreEnforced holds the limit parameter's range
// against pageLimit, which the list handlers use.
func TestDocumentedPageLimitsAreEnforced(t *testing.T) {
	for query, want := range map[string]int{"": defaultPageLimit, "?limit=1": 1, "?limit=" + strconv.Itoa(maxPageLimit): maxPageLimit,
		"?limit=0": -1, "?limit=" + strconv.Itoa(maxPageLimit+1): -1} {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodGet, "/x"+query, nil)
		n, err := pageLimit(c)
		if want < 0 && errs.KindOf(err) != errs.InvalidArgument || want >= 0 && (err != nil || n != want) {
			t.Errorf("pageLimit(%q) = %d, %v; want %d", query, n, err, want)
		}
	}
}

func routeOf(doc *openapi3.T, method, path string) *routers.Route {
	item := doc.Paths.Value(path)
	return &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}
}

func TestServedDocumentIsTheBuiltOneAndDescribesItself(t *testing.T) {
	doc, built := loadDocument(t)
	e, _ := bareEngine(t)
	req := httptest.NewRequest(http.MethodGet, PathOpenAPI, nil)
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), built) {
		t.Fatalf("GET %s = %d, not the document built from the routes", PathOpenAPI, w.Code)
	}
	route := routeOf(doc, http.MethodGet, PathOpenAPI)
	if err := openapi3filter.ValidateRequest(t.Context(), &openapi3filter.RequestValidationInput{Request: req, Route: route}); err != nil {
		t.Fatal(err)
	}
	if err := validateAnswer(t, route, req, w); err != nil {
		t.Fatal(err)
	}
}

// TestLocalAnswersMatchTheDocument sends requests the gateway answers
// without its services and holds the answers against the document; an
// answer it does not describe fails.
func TestLocalAnswersMatchTheDocument(t *testing.T) {
	doc, _ := loadDocument(t)
	e, _ := bareEngine(t)
	for _, tc := range []struct {
		name, method, url, path, body string
		want                          int
	}{
		{"an oversized JSON body", http.MethodPost, "/api/v1/auth/login", "/api/v1/auth/login",
			`{"email":"` + strings.Repeat("x", 2<<10) + `"}`, http.StatusRequestEntityTooLarge},
		{"a query parameter holding NUL", http.MethodGet, "/api/v1/setup?x=%00", "/api/v1/setup", "", http.StatusBadRequest},
		{"no session", http.MethodGet, "/api/v1/users", "/api/v1/users", "", http.StatusUnauthorized},
		{"a runner route without HTTP Basic", http.MethodPost, "/api/v1/runner/jobs/claim?wait=1", "/api/v1/runner/jobs/claim", "", http.StatusUnauthorized},
		{"a package download without HTTP Basic", http.MethodGet, "/api/v1/runner/packages/a/1.0.0", "/api/v1/runner/packages/{name}/{version}", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.url, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", mediaJSON)
			}
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("%s %s = %d %s, want %d", tc.method, tc.url, w.Code, w.Body, tc.want)
			}
			if err := validateAnswer(t, routeOf(doc, tc.method, tc.path), req, w); err != nil {
				t.Fatal(err)
			}
		})
	}
	t.Run("an answer the document does not describe fails", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/setup", nil)
		answer := func(status int, body string) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			w.Header().Set("Content-Type", mediaJSON)
			w.Header().Set("X-Request-Id", "r")
			w.WriteHeader(status)
			w.WriteString(body)
			return w
		}
		route := routeOf(doc, http.MethodGet, "/api/v1/setup")
		if err := validateAnswer(t, route, req, answer(200, `{"licensed":true,"bootstrapped":false}`)); err != nil {
			t.Fatalf("a documented answer failed: %v", err)
		}
		for _, bad := range []*httptest.ResponseRecorder{
			answer(200, `{"licensed":true,"bootstrapped":false,"extra":1}`),
			answer(200, `{"licensed":true}`),
			answer(409, `{"error":{"code":"conflict","message":"m"}}`),
			answer(503, `{"error":{"code":"busy","message":"m"}}`),
			func() *httptest.ResponseRecorder {
				w := answer(200, `{"licensed":true,"bootstrapped":false}`)
				w.Header().Del("X-Request-Id")
				return w
			}(),
		} {
			if err := validateAnswer(t, route, req, bad); err == nil {
				t.Errorf("%d %s passed", bad.Code, bad.Body)
			}
		}
	})
}

// validateAnswer holds an answer against the document's operation route.
func validateAnswer(t *testing.T, route *routers.Route, req *http.Request, w *httptest.ResponseRecorder) error {
	t.Helper()
	params := map[string]string{}
	for _, p := range route.Operation.Parameters {
		if p.Value.In == "path" {
			params[p.Value.Name] = "x"
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
	return openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: w.Code, Header: w.Header(), Body: io.NopCloser(bytes.NewReader(w.Body.Bytes())),
		Options: &openapi3filter.Options{IncludeResponseStatus: true}})
}

func TestDocumentJSONIsStable(t *testing.T) {
	_, a := loadDocument(t)
	_, b := loadDocument(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two builds of the document differ")
	}
	var v map[string]any
	if err := json.Unmarshal(a, &v); err != nil {
		t.Fatal(err)
	}
	if v["openapi"] != "3.0.3" || !slices.Contains([]string{"Exekra Hub API"}, v["info"].(map[string]any)["title"].(string)) {
		t.Fatalf("openapi %v info %v", v["openapi"], v["info"])
	}
}

// TestLiveHealthMatchesTheDocument holds the real health answers, up and
// degraded, against the document.
func TestLiveHealthMatchesTheDocument(t *testing.T) {
	doc, _ := loadDocument(t)
	f := newFixture(t)
	route := routeOf(doc, http.MethodGet, "/api/health")
	check := func(want int) {
		t.Helper()
		f.waitHealth(t, want)
		req := httptest.NewRequest(http.MethodGet, "/api/health", nil)
		resp, err := http.Get(f.srv.URL + "/api/health")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		w := httptest.NewRecorder()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
		if resp.StatusCode != want {
			t.Fatalf("health = %d %s, want %d", resp.StatusCode, body, want)
		}
		if err := validateAnswer(t, route, req, w); err != nil {
			t.Fatalf("health %d %s: %v", want, body, err)
		}
	}
	check(http.StatusOK)
	f.backends["audit"]()
	check(http.StatusServiceUnavailable)
}
