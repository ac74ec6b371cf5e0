// Package httpapi is the gateway's public HTTP API: the route table, the
// middleware chain and the handlers that translate HTTP to NATS requests.
package httpapi

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/pkgstore"
	"github.com/exekra/hub/libs/web"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
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
	// PackageMaxBytes limits a package upload (pkgstore.DefaultMaxBytes when 0).
	PackageMaxBytes int64
}

// Route is one entry of the public API; the OpenAPI document is built from these.
type Route struct {
	Method  string
	Path    string // gin syntax: /api/v1/users/:id
	Summary string
	Access  string // the least role allowed (OPERATOR ⊂ DEVELOPER ⊂ ADMIN), or Anyone
	Handle  web.Handler
	// OwnBodyLimit exempts the route from the API's body limit because the
	// handler streams and enforces its own (package uploads).
	OwnBodyLimit bool
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
	doc := OpenAPI(routes)
	routes = append(routes, Route{Method: http.MethodGet, Path: "/api/v1/openapi.json", Summary: "This document", Access: Anyone,
		Handle: func(c *gin.Context) error {
			c.JSON(http.StatusOK, doc)
			return nil
		}})
	for _, r := range routes {
		limit := web.BodyLimit(s.Log, s.MaxBodyBytes)
		if r.OwnBodyLimit {
			limit = func(c *gin.Context) { c.Next() }
		}
		e.Handle(r.Method, r.Path, limit, s.Policy(r.Access), web.Wrap(s.Log, textChecked(r.Handle)))
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
	return []Route{
		{http.MethodGet, "/api/health", "Health of the Hub and each of its parts", Anyone, s.health, false},
		{http.MethodGet, "/api/v1/setup", "Whether a license is active and the first admin exists", Anyone, s.setup, false},
		{http.MethodPost, "/api/v1/setup/bootstrap", "Create the first administrator", Anyone, s.bootstrap, false},
		{http.MethodPost, "/api/v1/auth/login", "Sign in", Anyone, s.login, false},
		{http.MethodPost, "/api/v1/auth/logout", "End this session", Operator, s.logout, false},
		{http.MethodGet, "/api/v1/auth/me", "The signed-in user", Operator, s.me, false},
		{http.MethodGet, "/api/v1/users", "List users", Admin, s.listUsers, false},
		{http.MethodPost, "/api/v1/users", "Create a user", Admin, s.createUser, false},
		{http.MethodGet, "/api/v1/users/:id", "Read a user", Admin, s.getUser, false},
		{http.MethodPatch, "/api/v1/users/:id", "Change a user", Admin, s.updateUser, false},
		{http.MethodDelete, "/api/v1/users/:id", "Delete a user", Admin, s.deleteUser, false},
		{http.MethodPost, "/api/v1/license", "Activate a license (anyone while none is active; ADMIN to renew)", Anyone, s.activateLicense, false},
		{http.MethodGet, "/api/v1/license", "License status", Admin, s.licenseStatus, false},
		{http.MethodPost, "/api/v1/license/validate", "Validate with the vendor portal now", Admin, s.validateLicense, false},
		{http.MethodGet, "/api/v1/license/usage-report", "Signed offline usage report (download)", Admin, s.usageReport, false},
		{http.MethodPost, "/api/v1/license/receipt", "Import the portal's signed receipt", Admin, s.importReceipt, false},
		{http.MethodGet, "/api/v1/runners", "List runners", Operator, s.listRunners, false},
		{http.MethodGet, "/api/v1/runners/:id", "Read a runner", Operator, s.getRunner, false},
		{http.MethodPost, "/api/v1/runners", "Register a runner; the machine secret is shown only here", Admin, s.registerRunner, false},
		{http.MethodDelete, "/api/v1/runners/:id", "Delete a runner; its credentials stop working at once", Admin, s.deleteRunner, false},
		{http.MethodPost, "/api/v1/runners/:id/regenerate-secret", "Replace a runner's machine secret", Admin, s.regenerateSecret, false},
		{http.MethodPost, "/api/v1/runner/heartbeat", "Runner heartbeat (HTTP Basic: runner id, machine secret)", Runner, s.heartbeat, false},
		{Method: http.MethodPost, Path: "/api/v1/packages", Summary: "Publish a package (multipart file \"package\")", Access: Developer, Handle: s.publishPackage, OwnBodyLimit: true},
		{http.MethodGet, "/api/v1/packages", "Latest version of each package", Operator, s.listPackages, false},
		{http.MethodGet, "/api/v1/packages/:name", "Every version of a package", Operator, s.packageVersions, false},
		{http.MethodGet, "/api/v1/runner/packages/:name/:version", "Download a package of a job this runner holds (runner)", Runner, s.downloadPackage, false},
		{http.MethodPost, "/api/v1/jobs", "Start a job", Operator, s.createJob, false},
		{http.MethodGet, "/api/v1/jobs", "List jobs (?status=&environment=&runner_id=)", Operator, s.listJobs, false},
		{http.MethodGet, "/api/v1/jobs/:id", "Read a job, with pending_reason while it waits", Operator, s.getJob, false},
		{http.MethodGet, "/api/v1/jobs/:id/logs", "A job's log lines after ?after=<seq>", Operator, s.jobLogs, false},
		{http.MethodPost, "/api/v1/jobs/:id/cancel", "Cancel a job", Operator, s.cancelJob, false},
		{http.MethodPost, "/api/v1/runner/jobs/claim", "Claim a job, waiting up to ?wait= seconds (runner)", Runner, s.claimJob, false},
		{http.MethodPost, "/api/v1/runner/jobs/:id/logs", "Upload log lines; renews the lease (runner)", Runner, s.uploadLogs, false},
		{http.MethodPost, "/api/v1/runner/jobs/:id/complete", "Report how a job ended (runner)", Runner, s.completeJob, false},
		{http.MethodGet, "/api/v1/audit", "Search the audit log", Admin, s.listAudit, false},
		{http.MethodGet, "/api/v1/audit/export", "Export the audit log (JSONL or CSV, streamed)", Admin, s.exportAudit, false},
		{http.MethodGet, "/api/v1/audit/verify", "Verify the audit log's hash chain", Admin, s.verifyAudit, false},
		{http.MethodGet, "/api/v1/audit/checkpoints", "Signed checkpoints of the audit log's head", Admin, s.auditCheckpoints, false},
	}
}
