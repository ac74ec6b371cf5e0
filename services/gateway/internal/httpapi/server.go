// Package httpapi is the gateway's public HTTP API: the route table, the
// middleware chain and the handlers that translate HTTP to NATS requests.
package httpapi

import (
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go/jetstream"
)

// Server holds what the handlers need.
type Server struct {
	Log            *slog.Logger
	Metrics        *metrics.Registry
	NATS           *natsrpc.Client
	Health         *healthcheck.Checker
	MaxBodyBytes   int64
	HTTPS          bool
	TrustedProxies []string
	JS             jetstream.JetStream // audit events of refused requests; nil disables them
	// Packages holds package bytes (pkgstore.Open on JS); nil answers the
	// package upload and download routes with unavailable.
	Packages *pkgstore.Store
	// Sessions remembers identity's recent answers; nil asks every time.
	Sessions *Sessions
	// Instances routes claims to live runners instances; nil leaves the
	// choice to the bus.
	Instances *RunnerInstances
	// PackageMaxBytes limits a package upload (pkgstore.DefaultMaxBytes when 0).
	PackageMaxBytes int64

	document []byte // the OpenAPI document, made by Engine
}

// Route is one entry of the public API; the OpenAPI document is built from
// these (Document), so each states everything the document says of it.
type Route struct {
	Method  string
	Path    string // gin syntax: /api/v1/users/:id
	Summary string
	Access  string // the least role allowed (OPERATOR ⊂ DEVELOPER ⊂ ADMIN), Anyone or Runner
	Handle  web.Handler
	// Scope is the API token scope the route needs (identity.Scope*); when
	// empty, read for GET and HEAD and admin otherwise (scopeOf).
	Scope string
	// OwnBodyLimit exempts the route from the API's body limit because the
	// handler streams and enforces its own (package uploads).
	OwnBodyLimit bool

	ID          string // the operationId
	Tag         string // the group it is listed in (tags)
	Description string // what it does, beyond Summary
	Body        *Media // the request body it reads, if any
	// BodyOptional: the route also takes no body at all.
	BodyOptional bool
	Params       []Param // the query and header parameters it reads (path parameters come from Path)
	// Replies are its answers but the errors errorStatuses finds for it.
	Replies []Reply
	// Errors are error statuses it answers beyond those every route of its
	// kind answers (errorStatuses), such as 409.
	Errors []int
	// Local routes answer without the back-end services: never 503.
	Local bool
	// OptionalSession marks an Anyone route that does more for a signed-in
	// user (a license renewal by an ADMIN).
	OptionalSession bool
}

// Engine builds the gin engine with the middleware chain and the API routes;
// mount adds further routes (the console) before the engine is returned.
func (s *Server) Engine(mount func(*gin.Engine)) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(s.TrustedProxies); err != nil {
		return nil, err
	}
	e.Use(web.Recover(s.Log), web.RemoveFormFiles(s.Log), web.Caller(), web.Metrics(s.Metrics), web.AccessLog(s.Log),
		web.SecurityHeaders(s.HTTPS), s.Authenticate())
	routes := s.Routes()
	doc, err := Document(routes)
	if err != nil {
		return nil, err
	}
	if s.document, err = doc.MarshalJSON(); err != nil {
		return nil, err
	}
	for _, r := range routes {
		limit := web.BodyLimit(s.Log, s.MaxBodyBytes)
		if r.OwnBodyLimit {
			limit = func(c *gin.Context) { c.Next() }
		}
		e.Handle(r.Method, r.Path, limit, s.Policy(r.Access, scopeOf(r)), web.Wrap(s.Log, textChecked(r.Handle)))
	}
	if mount != nil {
		mount(e)
	}
	e.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			web.WriteError(c, s.Log, errs.Ef(errs.NotFound, "no such endpoint: %s %s", c.Request.Method, c.Request.URL.Path))
			return
		}
		c.String(http.StatusNotFound, "404 page not found\n")
	})
	return e, nil
}

// Routes is the API's route table.
func (s *Server) Routes() []Route {
	return slices.Concat(s.coreRoutes(), s.providerRoutes(), s.oidcRoutes(), s.scheduleRoutes(), s.assetRoutes(), s.tokenRoutes(), s.tailRoutes())
}

// coreRoutes are the routes of health, sessions, users, the license,
// runners, packages and jobs.
func (s *Server) coreRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: "/api/health", Summary: "Health of the Hub and each of its parts", Access: Anyone, Handle: s.health,
			ID: "getHealth", Tag: tagHealth,
			Description: "The gateway's own NATS and Redis connections and the status of every back-end service, with the database's measured round trip. Never cached.",
			Replies: []Reply{
				jsonReply[healthcheck.Report](http.StatusOK, "Every part is up.", headerNoStore),
				jsonReply[healthcheck.Report](http.StatusServiceUnavailable, "A part is down: status degraded, that part down.", headerNoStore),
			}, Local: true},
		{Method: http.MethodGet, Path: "/api/v1/setup", Summary: "Whether a license is active and the first admin exists", Access: Anyone, Handle: s.setup,
			ID: "getSetup", Tag: tagHealth,
			Description: "Where the installation stands: first a license is activated (POST /api/v1/license), then the first ADMIN is created (POST /api/v1/setup/bootstrap).",
			Replies:     []Reply{jsonReply[SetupState](http.StatusOK, "Where the setup stands.")}},
		{Method: http.MethodPost, Path: "/api/v1/setup/bootstrap", Summary: "Create the first administrator", Access: Anyone, Handle: s.bootstrap,
			ID: "bootstrap", Tag: tagHealth,
			Description: "Creates the first user, an ADMIN, while a license is active and no user exists (else 403 license_required or 409 already_bootstrapped). " +
				"The email must be the license's admin_email, case aside (else 400 email_mismatch). Of concurrent calls exactly one wins.",
			Body: jsonBody[identity.BootstrapRequest](), Replies: []Reply{jsonReply[identity.User](http.StatusCreated, "The first ADMIN.")},
			Errors: []int{http.StatusConflict}},
		{Method: http.MethodPost, Path: "/api/v1/auth/login", Summary: "Sign in", Access: Anyone, Handle: s.login,
			ID: "login", Tag: tagSessions,
			Description: "Opens a session. A wrong password and an unknown email get the same 401 invalid_credentials; " +
				"repeated failures per account and per source address get 429 rate_limited. With directory sign-in on, email may also be a " +
				"directory user name: a local account with that email signs in locally, anyone else against the directory " +
				"(403 permission_denied when in no mapped group, 409 conflict when a local account has their email, 503 unavailable when the directory is unreachable).",
			Body:    jsonBody[identity.LoginRequest](),
			Replies: []Reply{jsonReply[identity.Session](http.StatusOK, "The session: send its token as Authorization: Bearer <token>.", headerNoStore, headerPragma)},
			Errors:  []int{http.StatusUnauthorized, http.StatusConflict, http.StatusTooManyRequests}},
		{Method: http.MethodPost, Path: "/api/v1/auth/logout", Summary: "End this session", Access: Operator, Handle: s.logout,
			ID: "logout", Tag: tagSessions,
			Description: "Ends the session the request is made with: its token stops working at once (on other gateways as soon as identity's announcement reaches them).",
			Replies:     []Reply{emptyReply(http.StatusNoContent, "The session has ended.")}},
		{Method: http.MethodGet, Path: "/api/v1/auth/me", Summary: "The signed-in user", Access: Operator, Handle: s.me,
			ID: "getMe", Tag: tagSessions, Description: "The user the session belongs to.",
			Replies: []Reply{jsonReply[identity.User](http.StatusOK, "The signed-in user.")}},
		{Method: http.MethodGet, Path: "/api/v1/users", Summary: "List users", Access: Admin, Handle: s.listUsers,
			ID: "listUsers", Tag: tagUsers, Description: "A page of users, oldest first.", Params: paramsPage,
			Replies: []Reply{jsonReply[identity.ListUsersResponse](http.StatusOK, "A page of users; next_cursor is empty after the last.")}},
		{Method: http.MethodPost, Path: "/api/v1/users", Summary: "Create a user", Access: Admin, Handle: s.createUser,
			ID: "createUser", Tag: tagUsers, Description: "Creates a user; role defaults to OPERATOR. An email in use (case aside) is a 409 conflict.",
			Body: jsonBody[identity.CreateUserRequest](), Replies: []Reply{jsonReply[identity.User](http.StatusCreated, "The new user.")},
			Errors: []int{http.StatusConflict}},
		{Method: http.MethodGet, Path: "/api/v1/users/:id", Summary: "Read a user", Access: Admin, Handle: s.getUser,
			ID: "getUser", Tag: tagUsers, Description: "One user.",
			Replies: []Reply{jsonReply[identity.User](http.StatusOK, "The user.")}},
		{Method: http.MethodPatch, Path: "/api/v1/users/:id", Summary: "Change a user", Access: Admin, Handle: s.updateUser,
			ID: "updateUser", Tag: tagUsers,
			Description: "Changes the fields sent. Demoting or disabling the last active ADMIN is a 409 last_admin. A role change, disable or password change ends that user's sessions.",
			Body:        jsonBody[userPatch](), Replies: []Reply{jsonReply[identity.User](http.StatusOK, "The user as changed.")},
			Errors: []int{http.StatusConflict}},
		{Method: http.MethodDelete, Path: "/api/v1/users/:id", Summary: "Delete a user", Access: Admin, Handle: s.deleteUser,
			ID: "deleteUser", Tag: tagUsers, Description: "Deletes a user and ends its sessions. Deleting the last active ADMIN is a 409 last_admin.",
			Replies: []Reply{emptyReply(http.StatusNoContent, "The user is gone.")}, Errors: []int{http.StatusConflict}},
		{Method: http.MethodPost, Path: "/api/v1/license", Summary: "Activate a license (anyone while none is active; ADMIN to renew)", Access: Anyone, Handle: s.activateLicense,
			ID: "activateLicense", Tag: tagLicense, OptionalSession: true,
			Description: "Activates the license file's text. While no license is active anyone may; afterwards only an ADMIN, to renew (anonymous: 401; another role: 403). " +
				"A bad signature or format, an expired or not yet valid license, or one allowing fewer runners than are registered: 400 invalid_license.",
			Body: jsonBody[licensing.ActivateRequest](), Replies: []Reply{jsonReply[licensing.Status](http.StatusOK, "The license now active.")},
			Errors: []int{http.StatusUnauthorized}},
		{Method: http.MethodGet, Path: "/api/v1/license", Summary: "License status", Access: Admin, Handle: s.licenseStatus,
			ID: "getLicense", Tag: tagLicense, Description: "The active license, its expiry and validation state and what it counts (403 license_required while none is active).",
			Replies: []Reply{jsonReply[licensing.Status](http.StatusOK, "The license status.")}},
		{Method: http.MethodPost, Path: "/api/v1/license/validate", Summary: "Validate with the vendor portal now", Access: Admin, Handle: s.validateLicense,
			ID: "validateLicense", Tag: tagLicense, Description: "Runs online validation with the vendor portal now (an offline license is validated by receipt instead: 400).",
			Replies: []Reply{jsonReply[licensing.Status](http.StatusOK, "The license status after validation.")}},
		{Method: http.MethodGet, Path: "/api/v1/license/usage-report", Summary: "Signed offline usage report (download)", Access: Admin, Handle: s.usageReport,
			ID: "getUsageReport", Tag: tagLicense, Description: "A signed usage report to carry to the vendor portal, which answers with a receipt (POST /api/v1/license/receipt).",
			Replies: []Reply{{Status: http.StatusOK, Description: "The signed report file.", Headers: []Header{headerAttachment},
				Body: []Media{{ContentType: "text/plain", Schema: stringSchema("", "The report file's text.")}}}}},
		{Method: http.MethodPost, Path: "/api/v1/license/receipt", Summary: "Import the portal's signed receipt", Access: Admin, Handle: s.importReceipt,
			ID: "importReceipt", Tag: tagLicense,
			Description: "Imports the vendor portal's signed receipt of a usage report: the offline validation. A receipt for another license, installation or report: 400 invalid_license.",
			Body:        jsonBody[licensing.ReceiptRequest](), Replies: []Reply{jsonReply[licensing.Status](http.StatusOK, "The license status after the receipt.")}},
		{Method: http.MethodGet, Path: runners.PathRunners, Summary: "List runners", Access: Operator, Handle: s.listRunners,
			ID: "listRunners", Tag: tagRunners, Description: "A page of runners, by name.",
			Params:  append(slices.Clone(paramsPage), paramEnvironment, paramRunnerStatus),
			Replies: []Reply{jsonReply[runners.ListResponse](http.StatusOK, "A page of runners; next_cursor is empty after the last.")}},
		{Method: http.MethodGet, Path: runners.PathRunner, Summary: "Read a runner", Access: Operator, Handle: s.getRunner,
			ID: "getRunner", Tag: tagRunners, Description: "One runner.",
			Replies: []Reply{jsonReply[runners.Runner](http.StatusOK, "The runner.")}},
		{Method: http.MethodGet, Path: runners.PathRunnerMetrics, Summary: "A runner's metrics, minute by minute (?hours=)", Access: Operator, Handle: s.runnerMetrics,
			ID: "getRunnerMetrics", Tag: tagRunners,
			Description: "The runner's heartbeat metrics over the last hours (at most 24, which is all the Hub keeps), one point per minute with heartbeats, oldest first: " +
				"CPU and memory averages and maxima, the least free disk.",
			Params:  []Param{paramMetricsHours},
			Replies: []Reply{jsonReply[runners.RunnerMetricsHistory](http.StatusOK, "The runner's metrics history.")},
			Errors:  []int{http.StatusNotFound}},
		{Method: http.MethodPost, Path: runners.PathRunners, Summary: "Register a runner; the machine secret is shown only here", Access: Admin, Handle: s.registerRunner,
			ID: "registerRunner", Tag: tagRunners,
			Description: "Registers a runner and makes its machine secret, which only this answer shows. A name in use is a 409 conflict; more runners than the license allows, 403 license_limit.",
			Body:        jsonBody[runners.RegisterRequest](),
			Replies:     []Reply{jsonReply[runners.Registered](http.StatusCreated, "The runner and its machine secret.", headerNoStore, headerPragma)},
			Errors:      []int{http.StatusConflict}},
		{Method: http.MethodDelete, Path: runners.PathRunner, Summary: "Delete a runner; its credentials stop working at once", Access: Admin, Handle: s.deleteRunner,
			ID: "deleteRunner", Tag: tagRunners, Description: "Deletes a runner: its credentials fail at once on every gateway, and its agent stops.",
			Replies: []Reply{emptyReply(http.StatusNoContent, "The runner is gone.")}},
		{Method: http.MethodPost, Path: runners.PathRunnerRegenerateSecret, Summary: "Replace a runner's machine secret", Access: Admin, Handle: s.regenerateSecret,
			ID: "regenerateRunnerSecret", Tag: tagRunners,
			Description: "Makes a new machine secret; from the moment this answers, the old one gets 401 on every gateway.",
			Replies:     []Reply{jsonReply[runners.MachineSecret](http.StatusOK, "The new machine secret, shown only here.", headerNoStore, headerPragma)}},
		{Method: http.MethodPost, Path: runners.PathHeartbeat, Summary: "Runner heartbeat (HTTP Basic: runner id, machine secret)", Access: Runner, Handle: s.heartbeat,
			ID: "runnerHeartbeat", Tag: tagProtocol,
			Description: "Reports the agent's version, machine and running jobs; the answer says when to come back and which jobs to stop. " +
				"Wrong or rotated credentials: 401 invalid_credentials; repeated failures from an address: 429; " +
				"an agent version outside the skew policy: 426 upgrade_required.",
			Params: paramsRunnerRequest, Body: jsonBody[runners.Heartbeat](),
			Replies: []Reply{jsonReply[runners.HeartbeatResponse](http.StatusOK, "When to send the next heartbeat, and which jobs to stop.")},
			Errors:  []int{http.StatusUpgradeRequired, http.StatusTooManyRequests}},
		{Method: http.MethodPost, Path: "/api/v1/packages", Summary: "Publish a package (multipart file \"package\")", Access: Developer, Handle: s.publishPackage, OwnBodyLimit: true, Scope: identity.ScopePublish,
			ID: "publishPackage", Tag: tagPackages,
			Description: "Publishes the zip sent as the multipart file \"package\": it must hold a valid exekra.json (name, semver version, entrypoint, and optionally the parameters it takes). " +
				"It may declare the assets its jobs receive (\"assets\": [\"name\", ...], at most 100 names, each a letter or _ then letters, digits and _, none twice regardless of case). " +
				"A bad parameter or asset declaration is a 400 naming the parameter or asset. A name and version already published is a 409 conflict (packages are immutable); a zip over the package limit, 413.",
			Body:    &Media{ContentType: "multipart/form-data", Schema: packageUpload},
			Replies: []Reply{jsonReply[runners.Package](http.StatusCreated, "The published version.")},
			Errors:  []int{http.StatusConflict}},
		{Method: http.MethodGet, Path: "/api/v1/packages", Summary: "Latest version of each package", Access: Operator, Handle: s.listPackages,
			ID: "listPackages", Tag: tagPackages, Description: "A page of packages by name, each at its latest version (by semver).", Params: paramsPage,
			Replies: []Reply{jsonReply[runners.ListPackagesResponse](http.StatusOK, "A page of packages; next_cursor is empty after the last.")}},
		{Method: http.MethodGet, Path: "/api/v1/packages/:name", Summary: "Every version of a package", Access: Operator, Handle: s.packageVersions,
			ID: "listPackageVersions", Tag: tagPackages, Description: "Every version of a package, newest first by semver; a name without versions is 404.",
			Replies: []Reply{jsonReply[runners.PackageVersions](http.StatusOK, "The package's versions.")}},
		{Method: http.MethodGet, Path: runners.PathPackage, Summary: "Download a package of a job this runner holds (runner)", Access: Runner, Handle: s.downloadPackage,
			ID: "downloadPackage", Tag: tagProtocol,
			Description: "The package's bytes, for a runner that holds (claimed or running) a job of that version; any other runner gets 403 permission_denied.",
			Params:      paramsRunnerRequest,
			Replies: []Reply{{Status: http.StatusOK, Description: "The package zip.", Headers: packageHeaders,
				Body: []Media{{ContentType: "application/zip", Schema: stringSchema("binary", "The package zip.")}}}},
			Errors: []int{http.StatusTooManyRequests}},
		{Method: http.MethodPost, Path: "/api/v1/jobs", Summary: "Start a job", Access: Operator, Handle: s.createJob, Scope: identity.ScopeRun,
			ID: "createJob", Tag: tagJobs,
			Description: "Starts a job of a package version on a runner of an environment (with the labels, or the runner, asked for). " +
				"An unknown package or version is 404; with an Idempotency-Key, a repeat returns the first request's job, and the key reused for another job is a 409 conflict; " +
				"a license that does not allow it, 403. When the package version declares parameters, the job's are held to the declaration " +
				"(an unknown name, a required one missing or a value of the wrong type is a 400 invalid_argument naming the parameter) " +
				"and the defaults of those left out are filled in: the job and its runner get them. " +
				"When the package version declares assets, an asset without a value that could reach the job (no global value, none for the job's environment, " +
				"and none for its runner, or for an untargeted job none for any runner of the environment) is a 409 asset_missing naming the asset and the environment.",
			Params: []Param{paramIdempotencyKey}, Body: jsonBody[runners.CreateJobRequest](),
			Replies: []Reply{jsonReply[runners.Job](http.StatusCreated, "The job (the first request's, for a repeated Idempotency-Key).")},
			Errors:  []int{http.StatusNotFound, http.StatusConflict}},
		{Method: http.MethodPost, Path: runners.PathJobBatches, Summary: "Start several jobs at once (all or none)", Access: Operator, Handle: s.createJobs, Scope: identity.ScopeRun,
			ID: "createJobBatch", Tag: tagJobs,
			Description: "Starts up to 100 jobs in one request, each given and checked exactly as POST /api/v1/jobs checks it (package version, environment, runner or labels, " +
				"parameters against the declaration, assets, the license). No jobs, or more than 100, is a 400 invalid_argument; an invalid job is a 400 invalid_argument " +
				"whose message names it as jobs[i] (counting from 0); a job refused for another reason (an unknown package or version, 404; an asset without a value, " +
				"409 asset_missing; a license that does not allow it, 403) refuses the whole batch the same way. " +
				"All the jobs are created in one transaction, or none is: a refused batch starts nothing. Each job created is audited as job.create, as a single start is. " +
				"The Idempotency-Key covers the whole batch: a repeat by the same user with the same key returns the jobs the first request created, " +
				"and the key reused for a different batch is a 409 conflict; an idempotency_key inside a job is ignored, as in POST /api/v1/jobs.",
			Params: []Param{paramBatchKey}, Body: jsonBody[runners.CreateJobsRequest](),
			Replies: []Reply{jsonReply[runners.CreateJobsResponse](http.StatusCreated,
				"The jobs created, in the order asked for (the first request's, for a repeated Idempotency-Key).")},
			Errors: []int{http.StatusNotFound, http.StatusConflict}},
		{Method: http.MethodGet, Path: "/api/v1/jobs", Summary: "List jobs (?status=&environment=&runner_id=&schedule_id=)", Access: Operator, Handle: s.listJobs,
			ID: "listJobs", Tag: tagJobs, Description: "A page of jobs, newest first; schedule_id keeps those a schedule started.",
			Params:  append(slices.Clone(paramsPage), paramJobStatus, paramEnvironment, paramJobRunner, paramJobSchedule),
			Replies: []Reply{jsonReply[runners.ListJobsResponse](http.StatusOK, "A page of jobs; next_cursor is empty after the last.")}},
		{Method: http.MethodGet, Path: "/api/v1/jobs/:id", Summary: "Read a job, with pending_reason while it waits", Access: Operator, Handle: s.getJob,
			ID: "getJob", Tag: tagJobs, Description: "One job; while it is pending, pending_reason says why it waits.",
			Replies: []Reply{jsonReply[runners.Job](http.StatusOK, "The job.")}},
		{Method: http.MethodGet, Path: "/api/v1/jobs/:id/logs", Summary: "A job's log lines after ?after=<seq>", Access: Operator, Handle: s.jobLogs,
			ID: "getJobLogs", Tag: tagJobs, Description: "The job's log lines after the seq given, in order, at most 1000: ask again after the last seq for more.",
			Params:  []Param{paramAfter},
			Replies: []Reply{jsonReply[runners.JobLogs](http.StatusOK, "Log lines in order.")}},
		{Method: http.MethodPost, Path: "/api/v1/jobs/:id/cancel", Summary: "Cancel a job", Access: Operator, Handle: s.cancelJob, Scope: identity.ScopeRun,
			ID: "cancelJob", Tag: tagJobs,
			Description: "A pending job becomes canceled; a running one is told to stop in its runner's next heartbeat reply. A finished job is a 409 conflict.",
			Replies:     []Reply{jsonReply[runners.Job](http.StatusOK, "The job.")}, Errors: []int{http.StatusConflict}},
		{Method: http.MethodPost, Path: runners.PathJobRerun, Summary: "Run a job again", Access: Operator, Handle: s.rerunJob, Scope: identity.ScopeRun,
			ID: "rerunJob", Tag: tagJobs,
			Description: "Starts a new job with the package, version, environment, runner or labels, parameters, max_attempts and timeout_seconds of the job named (finished or not); " +
				"the new job's rerun_of names it. An unknown job, or a package version no longer published, is 404; with an Idempotency-Key, a repeat returns the first request's job, " +
				"and the key reused for another job is a 409 conflict; a license that does not allow it, 403; an asset the package declares without a value that could reach the job, " +
				"409 asset_missing naming it. Audited as job.create with rerun_of.",
			Params:  []Param{paramIdempotencyKey},
			Replies: []Reply{jsonReply[runners.Job](http.StatusCreated, "The new job (the first request's, for a repeated Idempotency-Key).")},
			Errors:  []int{http.StatusNotFound, http.StatusConflict}},
		{Method: http.MethodPost, Path: runners.PathClaim, Summary: "Claim a job, waiting up to ?wait= seconds (runner)", Access: Runner, Handle: s.claimJob,
			ID: "claimJob", Tag: tagProtocol,
			Description: "Long-polls for a job of this runner: a job created while it waits is handed over at once. " +
				"No body (or {}) only claims; a body with complete reports how a job this runner ran ended, exactly as POST /api/v1/runner/jobs/{id}/complete does, before the claim looks for the next: " +
				"a completion that is refused answers the claim with the completion's error (400, 403, 404, 409) and claims nothing; a repeat of the claim repeats the completion, which is idempotent. " +
				"An agent whose version (User-Agent exekra-runner/<version>) is outside the skew policy: 426 upgrade_required.",
			Params: append(slices.Clone(paramsRunnerRequest), paramWait, paramClaimID, paramClaimFirst, paramClaimStart),
			Body:   jsonBody[runners.ClaimBody](), BodyOptional: true,
			Replies: []Reply{
				jsonReply[runners.ClaimedJob](http.StatusOK, "The job claimed; it must start within its lease."),
				emptyReply(http.StatusNoContent, "No job arrived within wait; or, with Exekra-Claim-Repeat, the Hub was too busy "+
					"to finish the claim in time: ask again at once under the same claim id (not a failure).", headerClaimRepeat),
			},
			Errors: []int{http.StatusConflict, http.StatusUpgradeRequired, http.StatusTooManyRequests}},
		{Method: http.MethodPost, Path: runners.PathJobLogs, Summary: "Upload log lines; renews the lease (runner)", Access: Runner, Handle: s.uploadLogs,
			ID: "uploadJobLogs", Tag: tagProtocol,
			Description: "Appends log lines of a job this runner holds and renews its lease. A job it does not hold: 403; an attempt that is over or a job that has finished: 409.",
			Params:      paramsRunnerRequest, Body: jsonBody[runners.LogsBody](),
			Replies: []Reply{emptyReply(http.StatusNoContent, "The lines are stored.", headerCancelRequested)},
			Errors:  []int{http.StatusConflict, http.StatusTooManyRequests}},
		{Method: http.MethodPost, Path: runners.PathJobComplete, Summary: "Report how a job ended (runner)", Access: Runner, Handle: s.completeJob,
			ID: "completeJob", Tag: tagProtocol,
			Description: "Reports how a job this runner holds ended, with its last log lines if the body has them (stored in the same transaction; a repeated completion does not store them again). " +
				"A job it does not hold: 403; an attempt that is over or a job that has finished: 409.",
			Params: paramsRunnerRequest, Body: jsonBody[runners.CompleteBody](),
			Replies: []Reply{emptyReply(http.StatusNoContent, "The job is finished.")},
			Errors:  []int{http.StatusConflict, http.StatusTooManyRequests}},
	}
}

// tailRoutes are the routes of statistics, the audit log and the document.
func (s *Server) tailRoutes() []Route {
	return []Route{
		{Method: http.MethodGet, Path: runners.PathDashboardStats, Summary: "The dashboard's figures (?hours=)", Access: Operator, Handle: s.dashboardStats,
			ID: "getDashboardStats", Tag: tagStats,
			Description: "Figures over the last hours (at most 48, default 24), by UTC hour, from the Hub's database: jobs finished by status, " +
				"runners online by environment (average and maximum of per-minute samples), the 95th percentile of the time from a job's creation to its first claim; " +
				"and the jobs waiting now by environment.",
			Params:  []Param{paramStatsHours},
			Replies: []Reply{jsonReply[runners.DashboardStats](http.StatusOK, "The figures.")}},
		{Method: http.MethodGet, Path: "/api/v1/audit", Summary: "Search the audit log", Access: Admin, Handle: s.listAudit,
			ID: "listAudit", Tag: tagAudit, Description: "A page of audit records, newest first, filtered.",
			Params:  append(slices.Clone(paramsAuditFilter), paramsPage...),
			Replies: []Reply{jsonReply[auditPage](http.StatusOK, "A page of records; next_cursor is empty after the last.")}},
		{Method: http.MethodGet, Path: "/api/v1/audit/export", Summary: "Export the audit log (JSONL or CSV, streamed)", Access: Admin, Handle: s.exportAudit,
			ID: "exportAudit", Tag: tagAudit,
			Description: "The whole log (filtered), oldest first, streamed: JSON Lines of audit records or CSV with a header row. Cut short, the file lacks its last line.",
			Params:      append(slices.Clone(paramsAuditFilter), paramAuditFormat),
			Replies: []Reply{{Status: http.StatusOK, Description: "The export file.", Headers: []Header{headerAttachment}, Body: []Media{
				{ContentType: mediaJSONLines, Type: reflect.TypeFor[audit.Record]()}, // the schema of each line
				{ContentType: "text/csv", Schema: stringSchema("", "A header row, then a row per record.")},
			}}}},
		{Method: http.MethodGet, Path: "/api/v1/audit/verify", Summary: "Verify the audit log's hash chain", Access: Admin, Handle: s.verifyAudit,
			ID: "verifyAudit", Tag: tagAudit,
			Description: "Walks the hash chain and holds the log's end against the newest signed checkpoint and the AUDIT stream.",
			Replies:     []Reply{jsonReply[audit.VerifyResponse](http.StatusOK, "The outcome: ok, or the first bad seq and why.")}},
		{Method: http.MethodGet, Path: "/api/v1/audit/checkpoints", Summary: "Signed checkpoints of the audit log's head", Access: Admin, Handle: s.auditCheckpoints,
			ID: "listAuditCheckpoints", Tag: tagAudit, Description: "The newest signed checkpoints, newest first.", Params: []Param{paramLimit},
			Replies: []Reply{jsonReply[audit.CheckpointsResponse](http.StatusOK, "Checkpoints.")}},
		{Method: http.MethodGet, Path: PathOpenAPI, Summary: "This document", Access: Anyone, Handle: s.openapi,
			ID: "getOpenAPI", Tag: tagDocument, Description: "The OpenAPI 3 document of this API, made from the gateway's route table.", Local: true,
			Replies: []Reply{{Status: http.StatusOK, Description: "The document.",
				Body: []Media{{ContentType: mediaJSON, Schema: &openapi3.Schema{Type: &openapi3.Types{openapi3.TypeObject}, Description: "An OpenAPI 3.0 document."}}}}}},
	}
}

func (s *Server) openapi(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json; charset=utf-8", s.document)
	return nil
}
