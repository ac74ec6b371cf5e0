package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The contract check: every request the suite sends to the Hub's API through
// the insecure client (the api helpers, publish, heartbeats, health polls)
// and the answer it gets are held against the OpenAPI document the pilot
// serves. A request or an answer the document does not describe — a field,
// a status, a header, a content type — is a contractError; the api helpers
// fail the test with it, a raw call gets it as its error.

func init() {
	insecure.Transport = &contractTransport{base: insecure.Transport, contract: &served}
	openapi3filter.RegisterBodyDecoder("application/zip", openapi3filter.FileBodyDecoder)
}

// served is the document of the pilots the suite runs, loaded once from the
// first that answers.
var served contract

// contract holds the OpenAPI document answers are checked against.
type contract struct {
	mu  sync.Mutex
	doc *openapi3.T
}

// document loads the document from the gateway at base the first time.
func (c *contract) document(base *url.URL, rt http.RoundTripper) (*openapi3.T, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.doc != nil {
		return c.doc, nil
	}
	u := *base
	u.Path, u.RawPath, u.RawQuery = "/api/v1/openapi.json", "", ""
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s = %d %v", u.String(), resp.StatusCode, err)
	}
	doc, err := loadContract(raw)
	if err != nil {
		return nil, err
	}
	c.doc = doc
	return doc, nil
}

func loadContract(raw []byte) (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is invalid: %w", err)
	}
	return doc, nil
}

// contractError is an exchange the document does not describe. Resp is the
// answer, its body readable again.
type contractError struct {
	Method, Path string
	Status       int
	Err          error
	Resp         *http.Response
}

func (e *contractError) Error() string {
	return fmt.Sprintf("%s %s = %d breaks the OpenAPI document: %v", e.Method, e.Path, e.Status, e.Err)
}

func (e *contractError) Unwrap() error { return e.Err }

// contractTransport checks every exchange with /api/ against the document.
type contractTransport struct {
	base     http.RoundTripper
	contract *contract
}

func (t *contractTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasPrefix(req.URL.Path, "/api/") {
		return t.base.RoundTrip(req)
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if reqBody, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout {
		return resp, nil // a load balancer's answer for a gateway it could not reach, not the gateway's
	}
	doc, err := t.contract.document(req.URL, t.base)
	if err != nil {
		return nil, err
	}
	if err := checkExchange(req.Context(), doc, req, reqBody, resp, respBody); err != nil {
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		return nil, &contractError{Method: req.Method, Path: req.URL.RequestURI(), Status: resp.StatusCode, Err: err, Resp: resp}
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	return resp, nil
}

// checkExchange holds a request and its answer against doc. A request the
// document calls invalid must be refused with an error it documents; one it
// does not know at all must get the API's 404.
func checkExchange(ctx context.Context, doc *openapi3.T, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	route, params := findRoute(doc, req)
	if route == nil {
		if resp.StatusCode != http.StatusNotFound {
			return errors.New("the document has no such operation, yet the Hub did not answer 404")
		}
		return validateBody(doc.Components.Schemas["Error"].Value, resp.Header.Get("Content-Type"), respBody)
	}
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: credentialsPresent, SkipSettingDefaults: true, SchemaValidationOptions: terse}}
	reqErr := openapi3filter.ValidateRequest(ctx, in)
	if reqErr != nil && resp.StatusCode < 400 {
		return fmt.Errorf("the Hub accepted a request the document calls invalid: %w", reqErr)
	}
	ref := route.Operation.Responses.Status(resp.StatusCode)
	if ref == nil {
		return fmt.Errorf("status %d is not documented (the request: %v)", resp.StatusCode, orValid(reqErr))
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, SchemaValidationOptions: terse}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch {
	case len(ref.Value.Content) == 0 && len(respBody) > 0:
		return fmt.Errorf("the document gives %d no body, yet it has one: %.200s", resp.StatusCode, respBody)
	case mt == "application/x-ndjson":
		media := ref.Value.Content.Get(mt)
		if media == nil {
			return fmt.Errorf("content type %s is not documented for %d", mt, resp.StatusCode)
		}
		if err := validateLines(media.Schema.Value, respBody); err != nil {
			return err
		}
		opts.ExcludeResponseBody = true // the lines are checked, and the headers next
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	if err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}); err != nil {
		return fmt.Errorf("%w (the request: %v)", err, orValid(reqErr))
	}
	return nil
}

// terse keeps schema errors to their reason: no schema dumps, and no values
// (which may hold tokens and machine secrets) in the test's log.
var terse = []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}

func orValid(err error) any {
	if err == nil {
		return "valid"
	}
	return err
}

// credentialsPresent checks that a request carries the credentials a
// security scheme names; whether they are good is the Hub's to say.
func credentialsPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	s, r := in.SecurityScheme, in.RequestValidationInput.Request
	var ok bool
	switch {
	case s.Type == "http" && s.Scheme == "bearer":
		ok = strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ")
	case s.Type == "http" && s.Scheme == "basic":
		_, _, ok = r.BasicAuth()
	case s.Type == "apiKey" && s.In == "cookie":
		_, err := r.Cookie(s.Name)
		ok = err == nil
	case s.Type == "apiKey" && s.In == "header":
		ok = r.Header.Get(s.Name) != ""
	}
	if !ok {
		return fmt.Errorf("no %s credentials", in.SecuritySchemeName)
	}
	return nil
}

// findRoute finds the operation of req, matching path templates segment by
// segment (a template's literal segment beats a parameter).
func findRoute(doc *openapi3.T, req *http.Request) (*routers.Route, map[string]string) {
	segs := strings.Split(strings.Trim(req.URL.EscapedPath(), "/"), "/")
	best, bestLiterals := "", -1
	var bestParams map[string]string
	for path := range doc.Paths.Map() {
		tmpl := strings.Split(strings.Trim(path, "/"), "/")
		if len(tmpl) != len(segs) {
			continue
		}
		params, literals := map[string]string{}, 0
		for i, s := range tmpl {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				v, err := url.PathUnescape(segs[i])
				if err != nil || v == "" {
					params = nil
					break
				}
				params[s[1:len(s)-1]] = v
				continue
			}
			if s != segs[i] {
				params = nil
				break
			}
			literals++
		}
		if params != nil && literals > bestLiterals {
			best, bestLiterals, bestParams = path, literals, params
		}
	}
	if best == "" {
		return nil, nil
	}
	item := doc.Paths.Value(best)
	op := item.GetOperation(req.Method)
	if op == nil {
		return nil, nil
	}
	return &routers.Route{Spec: doc, Path: best, PathItem: item, Method: req.Method, Operation: op}, bestParams
}

// validateBody checks a JSON body against a schema.
func validateBody(s *openapi3.Schema, contentType string, body []byte) error {
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/json" {
		return fmt.Errorf("content type %q, not the JSON error envelope", contentType)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("the body is not JSON: %w", err)
	}
	return s.VisitJSON(v, terse...)
}

// validateLines checks each line of a JSON Lines body against the schema.
func validateLines(s *openapi3.Schema, body []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		var v any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			return fmt.Errorf("line %d is not JSON: %w", n, err)
		}
		if err := s.VisitJSON(v, terse...); err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
	}
	return sc.Err()
}
