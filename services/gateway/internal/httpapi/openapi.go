package httpapi

import (
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/httpapi/schema"
	"github.com/exekra/hub/services/gateway/internal/websession"
	"github.com/getkin/kin-openapi/openapi3"
)

// PathOpenAPI is where the gateway serves the document.
const PathOpenAPI = "/api/v1/openapi.json"

// Media is a body of one content type: JSON described from a Go type, or
// anything else described by a schema.
type Media struct {
	ContentType string
	Type        reflect.Type     // for JSON (in JSON Lines: of each line)
	Schema      *openapi3.Schema // for other content types
}

// Reply is an answer a route gives with a status.
type Reply struct {
	Status      int
	Description string
	Body        []Media // none for an answer without a body
	Headers     []Header
}

// Header is a response header a reply carries.
type Header struct {
	Name        string
	Description string
	Schema      *openapi3.Schema
	Required    bool
}

// Param is a query or header parameter a handler reads.
type Param struct {
	In          string // query | header
	Name        string
	Description string
	Schema      *openapi3.Schema
	Required    bool
}

// Media types of bodies.
const (
	mediaJSON      = "application/json"
	mediaJSONLines = "application/x-ndjson" // JSON Lines: a JSON value a line
)

func jsonMedia[T any]() Media { return Media{ContentType: mediaJSON, Type: reflect.TypeFor[T]()} }

// jsonBody is a JSON request body read into T.
func jsonBody[T any]() *Media { m := jsonMedia[T](); return &m }

// jsonReply answers status with a T.
func jsonReply[T any](status int, description string, headers ...Header) Reply {
	return Reply{Status: status, Description: description, Body: []Media{jsonMedia[T]()}, Headers: headers}
}

// emptyReply answers status without a body.
func emptyReply(status int, description string, headers ...Header) Reply {
	return Reply{Status: status, Description: description, Headers: headers}
}

func stringSchema(format, description string) *openapi3.Schema {
	return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeString}, Format: format, Description: description}
}

func enumSchema[T any](values []T) *openapi3.Schema {
	s := stringSchema("", "")
	for _, v := range values {
		s.Enum = append(s.Enum, v)
	}
	return s
}

func intSchema(lo, hi, def int) *openapi3.Schema {
	l, h := float64(lo), float64(hi)
	return &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Min: &l, Max: &h, Default: def}
}

// Parameters handlers read, by name.
var (
	paramLimit  = Param{In: "query", Name: "limit", Description: "How many items a page holds.", Schema: intSchema(1, maxPageLimit, defaultPageLimit)}
	paramCursor = Param{In: "query", Name: "cursor", Description: "The next_cursor of the page before; absent for the first page.",
		Schema: stringSchema("", "")}
	paramIdempotencyKey = Param{In: "header", Name: runners.HeaderIdempotencyKey, Schema: stringSchema("", ""),
		Description: "A client's key for this start: a repeat by the same user with the same key returns the job the first request created (201) instead of starting another; the same key with a different job is a conflict."}
	paramBatchKey = Param{In: "header", Name: runners.HeaderIdempotencyKey, Schema: stringSchema("", ""),
		Description: "A client's key for this batch: a repeat by the same user with the same key returns the jobs the first request created (201) instead of starting others; the same key with a different batch (other jobs, more or fewer) is a conflict."}
	paramProtocol = Param{In: "header", Name: runners.HeaderProtocol, Schema: enumSchema(runners.ProtocolVersions),
		Description: "The runner protocol version the agent speaks; absent means 1. A version the Hub does not speak is refused with 400."}
	paramUserAgent = Param{In: "header", Name: runners.HeaderUserAgent, Schema: stringSchema("", ""),
		Description: "exekra-runner/<version>: the version the registry shows."}
	paramClaimID = Param{In: "header", Name: runners.HeaderClaimID, Schema: stringSchema("", ""),
		Description: "The agent's id for this claim, kept while it retries: asked again with the same id, the claim returns the job it handed out if the runner has not started it (the reply was lost)."}
	paramClaimFirst = Param{In: "header", Name: runners.HeaderClaimFirst, Schema: enumSchema([]string{"true"}),
		Description: "true: this is the first time this Exekra-Claim-Id is sent, so the Hub skips looking for a job it gave the claim before. Leave it out on every repeat or retry of the claim."}
	paramClaimStart = Param{In: "header", Name: runners.HeaderClaimStart, Schema: enumSchema([]string{"true"}),
		Description: "true: the claim takes the job up itself: the job comes back with status running and the running lease (60 s, renewed by log uploads and heartbeats naming it), and the agent skips the take-up upload. Should the reply be lost, ask again under the same Exekra-Claim-Id: the job comes back again. Should the runner's connection close before the answer, the Hub gives the job back to the queue at once, no attempt spent; a reply lost otherwise (a host gone without closing its connection), and never asked for again, leaves the job to its lease, after which it spends an attempt."}
	paramWait = Param{In: "query", Name: runners.QueryWait, Schema: intSchema(0, runners.MaxClaimWaitSeconds, 0),
		Description: "How many seconds to wait for a job before answering 204."}
	paramAfter = Param{In: "query", Name: "after", Schema: intSchema(0, 1<<62, 0),
		Description: "The seq of the last line already read: lines after it are returned (0: from the start)."}
	paramJobStatus      = Param{In: "query", Name: "status", Description: "Only jobs of this status.", Schema: enumSchema(runners.JobStatuses)}
	paramEnvironment    = Param{In: "query", Name: "environment", Description: "Only those of this environment.", Schema: enumSchema(runners.Environments)}
	paramJobRunner      = Param{In: "query", Name: "runner_id", Description: "Only jobs this runner holds, held or is targeted by.", Schema: stringSchema("", "")}
	paramRunnerStatus   = Param{In: "query", Name: "status", Description: "Only runners of this status.", Schema: enumSchema(runners.Statuses)}
	paramAuditActor     = Param{In: "query", Name: "actor", Description: "Only events of this actor (id or email).", Schema: stringSchema("", "")}
	paramAuditAction    = Param{In: "query", Name: "action", Description: "Only events of this action, such as job.create.", Schema: stringSchema("", "")}
	paramAuditTarget    = Param{In: "query", Name: "target", Description: "Only events on this target id.", Schema: stringSchema("", "")}
	paramAuditSince     = Param{In: "query", Name: "since", Description: "Only events at or after this time (RFC 3339).", Schema: stringSchema("date-time", "")}
	paramAuditUntil     = Param{In: "query", Name: "until", Description: "Only events before this time (RFC 3339).", Schema: stringSchema("date-time", "")}
	paramAuditFormat    = Param{In: "query", Name: "format", Description: "jsonl (one record a line) or csv.", Schema: withDefault(enumSchema([]string{"jsonl", "csv"}), "jsonl")}
	paramMetricsHours   = Param{In: "query", Name: "hours", Description: "How many hours back, up to now.", Schema: intSchema(1, runners.MetricsHistoryHours, runners.MetricsHistoryHours)}
	paramStatsHours     = Param{In: "query", Name: "hours", Description: "How many hours back, up to now.", Schema: intSchema(1, runners.RunnerCountsHistoryHours, runners.DefaultStatsHours)}
	paramsAuditFilter   = []Param{paramAuditActor, paramAuditAction, paramAuditTarget, paramAuditSince, paramAuditUntil}
	paramsPage          = []Param{paramLimit, paramCursor}
	paramsRunnerRequest = []Param{paramProtocol, paramUserAgent}
)

// packageUpload is the multipart body of a publish.
var packageUpload = &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Required: []string{PackageFormField},
	Description: "The package zip in the file field \"package\"; small other fields are ignored.",
	Properties:  openapi3.Schemas{PackageFormField: openapi3.NewSchemaRef("", stringSchema("binary", "The package zip, holding exekra.json."))}}

func withDefault(s *openapi3.Schema, def any) *openapi3.Schema { s.Default = def; return s }

// Response headers.
var (
	headerNoStore = Header{Name: "Cache-Control", Description: "no-store: no cache may keep the answer.",
		Schema: stringSchema("", ""), Required: true}
	headerPragma = Header{Name: "Pragma", Description: "no-cache, for HTTP/1.0 caches: the answer holds a secret.",
		Schema: stringSchema("", ""), Required: true}
	packageHeaders = []Header{headerAttachment,
		{Name: "ETag", Description: "The package's SHA-256 (hex), quoted.", Schema: stringSchema("", ""), Required: true},
		{Name: "Exekra-Package-Sha256", Description: "The package's SHA-256 (hex): the agent checks the bytes against it.", Schema: stringSchema("", ""), Required: true}}
	headerAttachment = Header{Name: "Content-Disposition", Description: "attachment, with the file's name.",
		Schema: stringSchema("", ""), Required: true}
	headerCancelRequested = Header{Name: runners.HeaderCancelRequested, Schema: enumSchema([]string{"true"}),
		Description: "Present when the Hub wants the job stopped (the heartbeat reply says so too)."}
	headerClaimRepeat = Header{Name: runners.HeaderClaimRepeat, Schema: enumSchema([]string{"true"}),
		Description: "Present when the Hub was too busy to finish the claim within its wait: the agent repeats the claim at once " +
			"under the same Exekra-Claim-Id, and gets any job the Hub gave that claim meanwhile."}
)

// pathParam describes the parameters gin paths name.
var pathParams = map[string]string{
	"id":          "The id (a UUID) of the resource.",
	"name":        "The package's or the asset's name.",
	"environment": "An environment: Development, Staging or Production.",
	"runner_id":   "The id (a UUID) of a registered runner.",
	"version":     "The package's version (semver).",
}

// Tags group the operations; every route names one.
const (
	tagHealth   = "Health and setup"
	tagSessions = "Sessions"
	tagUsers    = "Users"
	tagLicense  = "License"
	tagRunners  = "Runners"
	tagProtocol = "Runner protocol"
	tagPackages = "Packages"
	tagJobs     = "Jobs"
	tagAudit    = "Audit"
	tagStats    = "Statistics"
	tagDocument = "Document"
)

var tags = openapi3.Tags{
	{Name: tagHealth, Description: "Whether the Hub is up, and where its setup stands (no authentication)."},
	{Name: tagSessions, Description: "Signing in and out."},
	{Name: tagUsers, Description: "Users and their roles (ADMIN)."},
	{Name: tagLicense, Description: "The license: activation, status, validation with the vendor portal (ADMIN, but activation while none is active)."},
	{Name: tagRunners, Description: "The runner registry: register, list, delete runners, rotate machine secrets."},
	{Name: tagProtocol, Description: "What the exekra-runner agent calls, with HTTP Basic: the runner id and its machine secret."},
	{Name: tagPackages, Description: "Package versions: zips holding exekra.json and the program they run. Immutable once published."},
	{Name: tagJobs, Description: "Jobs: a package version run on a runner of an environment, and its log."},
	{Name: tagSchedules, Description: "Schedules: jobs that start themselves by a cron expression or an interval; their coming fire times and fire history."},
	{Name: tagCalendars, Description: "Calendars of non-working days that schedules skip."},
	{Name: tagAssets, Description: "Assets: named settings and credentials that the jobs of the packages declaring them receive, " +
		"with values by scope (global, environment, runner), sealed at rest. Credential and secret values are write-only."},
	{Name: tagAudit, Description: "The tamper-evident audit log (ADMIN)."},
	{Name: tagStats, Description: "Figures for the dashboard, from the Hub's database."},
	{Name: tagDocument, Description: "This document."},
}

// Security schemes.
const (
	secBearer = "sessionBearer"
	secCookie = "sessionCookie"
	secCSRF   = "csrfToken"
	secRunner = "runnerBasic"
)

var securitySchemes = openapi3.SecuritySchemes{
	secBearer: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "session token",
		Description: "The token POST /api/v1/auth/login answers with, as Authorization: Bearer <token>. API clients use this."}},
	secCookie: {Value: &openapi3.SecurityScheme{Type: "apiKey", In: "cookie", Name: websession.SessionCookie,
		Description: "The web console's session cookie. A request that changes something with it must also carry the CSRF token (csrfToken)."}},
	secCSRF: {Value: &openapi3.SecurityScheme{Type: "apiKey", In: "header", Name: websession.CSRFHeader,
		Description: "The console page's CSRF token, bound to the session cookie: required with the cookie on every method but GET and HEAD."}},
	secRunner: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "basic",
		Description: "A runner: user name the runner id, password its machine secret."}},
}

// errorReply is the shared answer of one error status.
type errorReply struct {
	name        string
	description string
	headers     []Header
}

var errorReplies = map[int]errorReply{
	http.StatusBadRequest: {"BadRequest", "invalid_argument: the request is malformed or a value is refused, the message names which " +
		"(unknown JSON fields, wrong types, text that is not valid UTF-8 or holds NUL, a query parameter out of range); " +
		"invalid_license or email_mismatch where the operation says so.", nil},
	http.StatusUnauthorized: {"Unauthenticated", "unauthenticated: no valid session (sign in, send Authorization: Bearer <token>); " +
		"invalid_credentials: a wrong email and password, or runner id and machine secret.", []Header{{Name: "WWW-Authenticate",
		Description: "Basic realm=\"exekra-runner\" when a runner route got no HTTP Basic credentials.", Schema: stringSchema("", "")}}},
	http.StatusForbidden: {"Forbidden", "permission_denied: the role is too low, or the session cookie came without its X-CSRF-Token; " +
		"license_required or license_limit: the license does not allow it now.", nil},
	http.StatusNotFound: {"NotFound", "not_found: nothing has this id or name.", nil},
	http.StatusConflict: {"Conflict", "conflict, already_bootstrapped or last_admin: the request contradicts the current state; " +
		"asset_missing: an asset the package declares has no value that could reach the job (the message names the asset and the environment or runner).", nil},
	http.StatusRequestEntityTooLarge: {"PayloadTooLarge", "payload_too_large: the body exceeds the limit (1 MiB; packages: the configured package limit).", nil},
	http.StatusUpgradeRequired: {"UpgradeRequired", "upgrade_required: the agent's version is outside the Hub's skew policy " +
		"(same major version, at most 2 minor versions older, newer only within the Hub's minor version); the message names the version to install.", nil},
	http.StatusTooManyRequests: {"RateLimited", "rate_limited: too many failures; try again after Retry-After seconds.", []Header{{Name: "Retry-After",
		Description: "Seconds to wait before trying again.", Schema: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeInteger}, Min: new(float64)}, Required: true}}},
	http.StatusInternalServerError: {"Internal", "internal: a bug, never bad input; the Hub's logs hold the cause.", nil},
	http.StatusServiceUnavailable:  {"Unavailable", "unavailable: a part of the Hub is down or busy; try again shortly.", nil},
}

// errorStatuses lists the error statuses r can answer: those every route
// of its kind answers and those it names.
func errorStatuses(r Route) []int {
	set := map[int]bool{
		http.StatusBadRequest:          true, // every path and query parameter is checked to be text
		http.StatusInternalServerError: true,
	}
	if !r.Local {
		set[http.StatusServiceUnavailable] = true
	}
	if r.Access != Anyone {
		set[http.StatusUnauthorized] = true
	}
	if r.Access != Anyone || r.Method != http.MethodGet {
		set[http.StatusForbidden] = true // a role too low, or a cookie without its CSRF token
	}
	if strings.Contains(r.Path, "/:") {
		set[http.StatusNotFound] = true
	}
	if r.Body != nil {
		set[http.StatusRequestEntityTooLarge] = true
	}
	for _, s := range r.Errors {
		set[s] = true
	}
	for _, rep := range r.Replies {
		delete(set, rep.Status) // the route answers it with a body of its own
	}
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// schemaOptions says what reflection cannot see in the contract's types.
var schemaOptions = schema.Options{
	Names:        schemaNames,
	Required:     requestRequired,
	Fields:       fieldRefinements,
	Descriptions: schemaDescriptions,
}

var ginParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// Document builds the OpenAPI 3 document of routes, so the served contract
// and the routes cannot drift.
func Document(routes []Route) (*openapi3.T, error) {
	b := newDocBuilder()
	paths := openapi3.NewPaths()
	ids := map[string]bool{}
	for _, r := range routes {
		if r.ID == "" || r.Tag == "" || r.Summary == "" || r.Description == "" || len(r.Replies) == 0 {
			return nil, fmt.Errorf("openapi: %s %s needs an ID, a Tag, a Summary, a Description and its Replies", r.Method, r.Path)
		}
		if ids[r.ID] {
			return nil, fmt.Errorf("openapi: operationId %s is used twice", r.ID)
		}
		ids[r.ID] = true
		op, err := b.operation(r)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s %s: %w", r.Method, r.Path, err)
		}
		path := ginParam.ReplaceAllString(r.Path, "{$1}")
		item := paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			paths.Set(path, item)
		}
		if item.GetOperation(r.Method) != nil {
			return nil, fmt.Errorf("openapi: %s %s is declared twice", r.Method, r.Path)
		}
		item.SetOperation(r.Method, op)
	}
	schemas, err := b.gen.Components()
	if err != nil {
		return nil, err
	}
	return &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title: "Exekra Hub API", Version: buildinfo.Version,
			Description: "The public HTTP API of Exekra Hub: what Studio, the runner agents, exekractl and the web console use. " +
				"JSON bodies in UTF-8, times in RFC 3339 (UTC), ids are UUIDs. Every error is {\"error\":{\"code\",\"message\"}}. " +
				"Users send Authorization: Bearer <session token>; runners send HTTP Basic with their id and machine secret. " +
				"Every answer carries X-Request-Id.",
			License: &openapi3.License{Name: "Proprietary: for holders of an Exekra Hub license"},
		},
		Servers: openapi3.Servers{{URL: "https://{host}", Description: "The Hub's gateway",
			Variables: map[string]*openapi3.ServerVariable{"host": {Default: "localhost:8443", Description: "The gateway's address (gateway.listen)."}}}},
		Tags:  tags,
		Paths: paths,
		Components: &openapi3.Components{Schemas: schemas, Responses: b.responses, Headers: b.headers,
			SecuritySchemes: securitySchemes},
	}, nil
}

// docBuilder holds what the operations of one document share: the schema
// generator, the X-Request-Id header and the error answers used so far.
type docBuilder struct {
	gen         *schema.Generator
	errorSchema *openapi3.SchemaRef
	headers     openapi3.Headers
	requestID   *openapi3.HeaderRef
	responses   openapi3.ResponseBodies
}

func newDocBuilder() *docBuilder {
	gen := schema.New(schemaOptions)
	headers := openapi3.Headers{"RequestId": {Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: "The request's id, as the Hub's logs and audit log record it (a well-formed incoming X-Request-Id is kept).",
		Required:    true, Schema: openapi3.NewSchemaRef("", stringSchema("", ""))}}}}
	return &docBuilder{
		gen: gen, errorSchema: gen.Ref(reflect.TypeFor[web.ErrorBody](), schema.Output), headers: headers,
		requestID: &openapi3.HeaderRef{Ref: "#/components/headers/RequestId", Value: headers["RequestId"].Value},
		responses: openapi3.ResponseBodies{},
	}
}

// operation describes one route: parameters, body, its own answers and the
// error answers its kind of route can give.
func (b *docBuilder) operation(r Route) (*openapi3.Operation, error) {
	op := &openapi3.Operation{
		OperationID: r.ID, Tags: []string{r.Tag}, Summary: r.Summary, Description: r.Description + "\n\n" + accessSentence(r),
		Security: security(r), Responses: openapi3.NewResponses(),
		Extensions: map[string]any{"x-exekra-access": r.Access},
	}
	params, err := parameters(r)
	if err != nil {
		return nil, err
	}
	op.Parameters = params
	if r.Body != nil {
		content, err := mediaContent(b.gen, []Media{*r.Body}, schema.Input)
		if err != nil {
			return nil, err
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: !r.BodyOptional, Content: content}}
	}
	for _, rep := range r.Replies {
		resp := &openapi3.Response{Description: &rep.Description, Headers: openapi3.Headers{"X-Request-Id": b.requestID}}
		for _, h := range rep.Headers {
			resp.Headers[h.Name] = header(h)
		}
		if len(rep.Body) > 0 {
			if resp.Content, err = mediaContent(b.gen, rep.Body, schema.Output); err != nil {
				return nil, err
			}
		}
		op.Responses.Set(strconv.Itoa(rep.Status), &openapi3.ResponseRef{Value: resp})
	}
	for _, status := range errorStatuses(r) {
		ref, err := b.errorReply(status)
		if err != nil {
			return nil, err
		}
		op.Responses.Set(strconv.Itoa(status), ref)
	}
	return op, nil
}

// parameters are a route's path parameters, then its query and header ones.
func parameters(r Route) (openapi3.Parameters, error) {
	var params openapi3.Parameters
	for _, m := range ginParam.FindAllStringSubmatch(r.Path, -1) {
		p := openapi3.NewPathParameter(m[1]).WithSchema(stringSchema("", ""))
		p.Description = pathParams[m[1]]
		if p.Description == "" {
			return nil, fmt.Errorf("path parameter %s has no description", m[1])
		}
		params = append(params, &openapi3.ParameterRef{Value: p})
	}
	for _, p := range r.Params {
		if p.In != "query" && p.In != "header" {
			return nil, fmt.Errorf("parameter %s is in %q", p.Name, p.In)
		}
		params = append(params, &openapi3.ParameterRef{Value: &openapi3.Parameter{
			Name: p.Name, In: p.In, Description: p.Description, Required: p.Required, Schema: openapi3.NewSchemaRef("", p.Schema)}})
	}
	return params, nil
}

// errorReply is the shared answer for an error status, described once in
// components/responses the first time a route uses it.
func (b *docBuilder) errorReply(status int) (*openapi3.ResponseRef, error) {
	e, ok := errorReplies[status]
	if !ok {
		return nil, fmt.Errorf("no error answer is described for %d", status)
	}
	if b.responses[e.name] == nil {
		resp := &openapi3.Response{Description: &e.description, Headers: openapi3.Headers{"X-Request-Id": b.requestID},
			Content: openapi3.NewContentWithJSONSchemaRef(b.errorSchema)}
		for _, h := range e.headers {
			resp.Headers[h.Name] = header(h)
		}
		b.responses[e.name] = &openapi3.ResponseRef{Value: resp}
	}
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + e.name, Value: b.responses[e.name].Value}, nil
}

func header(h Header) *openapi3.HeaderRef {
	return &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
		Description: h.Description, Required: h.Required, Schema: openapi3.NewSchemaRef("", h.Schema)}}}
}

func mediaContent(gen *schema.Generator, media []Media, mode schema.Mode) (openapi3.Content, error) {
	content := openapi3.Content{}
	for _, m := range media {
		var s *openapi3.SchemaRef
		switch {
		case m.Type != nil && m.Schema == nil:
			s = gen.Ref(m.Type, mode)
		case m.Schema != nil && m.Type == nil:
			s = openapi3.NewSchemaRef("", m.Schema)
		default:
			return nil, fmt.Errorf("%s: a body has a Go Type (JSON, or a JSON value a line) or a Schema", m.ContentType)
		}
		content[m.ContentType] = &openapi3.MediaType{Schema: s}
	}
	return content, nil
}

// security states who may call r: nobody needs to sign in for Anyone, a
// runner sends HTTP Basic, a user a bearer token or the console's cookie
// (with its CSRF token on every method but GET).
func security(r Route) *openapi3.SecurityRequirements {
	session := openapi3.SecurityRequirements{{secBearer: {}}, {secCookie: {}}}
	if r.Method != http.MethodGet {
		session[1] = openapi3.SecurityRequirement{secCookie: {}, secCSRF: {}}
	}
	var reqs openapi3.SecurityRequirements
	switch r.Access {
	case Runner:
		reqs = openapi3.SecurityRequirements{{secRunner: {}}}
	case Anyone:
		reqs = openapi3.SecurityRequirements{}
		if r.OptionalSession {
			reqs = append(openapi3.SecurityRequirements{{}}, session...)
		}
	default:
		reqs = session
	}
	return &reqs
}

func accessSentence(r Route) string {
	switch r.Access {
	case Anyone:
		if r.OptionalSession {
			return "No authentication needed for what anyone may do; a session of a user (bearer token, or the console's cookie with its CSRF token) for the rest."
		}
		return "No authentication."
	case Runner:
		return "Runner protocol: HTTP Basic with the runner id and its machine secret."
	}
	return fmt.Sprintf("Needs the %s role or one above it (OPERATOR ⊂ DEVELOPER ⊂ ADMIN).", r.Access)
}
