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
}

// Route is one entry of the public API; the OpenAPI document is built from these.
type Route struct {
	Method  string
	Path    string // gin syntax: /api/v1/users/:id
	Summary string
	Access  string // the least role allowed (OPERATOR ⊂ DEVELOPER ⊂ ADMIN), or Anyone
	Handle  web.Handler
}

// Engine builds the gin engine with the middleware chain and the API routes;
// mount adds further routes (the console) before the engine is returned.
func (s *Server) Engine(mount func(*gin.Engine)) (*gin.Engine, error) {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	if err := e.SetTrustedProxies(s.TrustedProxies); err != nil {
		return nil, err
	}
	e.Use(web.Recover(s.Log), web.Caller(), web.Metrics(s.Metrics), web.AccessLog(s.Log),
		web.SecurityHeaders(s.HTTPS), web.BodyLimit(s.Log, s.MaxBodyBytes), s.Authenticate())
	routes := s.Routes()
	doc := OpenAPI(routes)
	routes = append(routes, Route{http.MethodGet, "/api/v1/openapi.json", "This document", Anyone, func(c *gin.Context) error {
		c.JSON(http.StatusOK, doc)
		return nil
	}})
	for _, r := range routes {
		e.Handle(r.Method, r.Path, s.Policy(r.Access), web.Wrap(s.Log, r.Handle))
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
		{http.MethodGet, "/api/health", "Health of the Hub and each of its parts", Anyone, s.health},
		{http.MethodGet, "/api/v1/setup", "Whether a license is active and the first admin exists", Anyone, s.setup},
		{http.MethodPost, "/api/v1/setup/bootstrap", "Create the first administrator", Anyone, s.bootstrap},
		{http.MethodPost, "/api/v1/auth/login", "Sign in", Anyone, s.login},
		{http.MethodPost, "/api/v1/auth/logout", "End this session", Operator, s.logout},
		{http.MethodGet, "/api/v1/auth/me", "The signed-in user", Operator, s.me},
		{http.MethodGet, "/api/v1/users", "List users", Admin, s.listUsers},
		{http.MethodPost, "/api/v1/users", "Create a user", Admin, s.createUser},
		{http.MethodGet, "/api/v1/users/:id", "Read a user", Admin, s.getUser},
		{http.MethodPatch, "/api/v1/users/:id", "Change a user", Admin, s.updateUser},
		{http.MethodDelete, "/api/v1/users/:id", "Delete a user", Admin, s.deleteUser},
		{http.MethodPost, "/api/v1/license", "Activate a license (anyone while none is active; ADMIN to renew)", Anyone, s.activateLicense},
		{http.MethodGet, "/api/v1/license", "License status", Admin, s.licenseStatus},
		{http.MethodPost, "/api/v1/license/validate", "Validate with the vendor portal now", Admin, s.validateLicense},
		{http.MethodGet, "/api/v1/license/usage-report", "Signed offline usage report (download)", Admin, s.usageReport},
		{http.MethodPost, "/api/v1/license/receipt", "Import the portal's signed receipt", Admin, s.importReceipt},
		{http.MethodGet, "/api/v1/runners", "List runners", Operator, s.listRunners},
		{http.MethodGet, "/api/v1/runners/:id", "Read a runner", Operator, s.getRunner},
		{http.MethodPost, "/api/v1/runners", "Register a runner; the machine secret is shown only here", Admin, s.registerRunner},
		{http.MethodDelete, "/api/v1/runners/:id", "Delete a runner; its credentials stop working at once", Admin, s.deleteRunner},
		{http.MethodPost, "/api/v1/runners/:id/regenerate-secret", "Replace a runner's machine secret", Admin, s.regenerateSecret},
		{http.MethodPost, "/api/v1/runner/heartbeat", "Runner heartbeat (HTTP Basic: runner id, machine secret)", Runner, s.heartbeat},
		{http.MethodPost, "/api/v1/jobs", "Start a job", Operator, s.createJob},
		{http.MethodGet, "/api/v1/jobs", "List jobs (?status=&environment=&runner_id=)", Operator, s.listJobs},
		{http.MethodGet, "/api/v1/jobs/:id", "Read a job, with pending_reason while it waits", Operator, s.getJob},
		{http.MethodGet, "/api/v1/jobs/:id/logs", "A job's log lines after ?after=<seq>", Operator, s.jobLogs},
		{http.MethodPost, "/api/v1/jobs/:id/cancel", "Cancel a job", Operator, s.cancelJob},
		{http.MethodPost, "/api/v1/runner/jobs/claim", "Claim a job, waiting up to ?wait= seconds (runner)", Runner, s.claimJob},
		{http.MethodPost, "/api/v1/runner/jobs/:id/logs", "Upload log lines; renews the lease (runner)", Runner, s.uploadLogs},
		{http.MethodPost, "/api/v1/runner/jobs/:id/complete", "Report how a job ended (runner)", Runner, s.completeJob},
		{http.MethodGet, "/api/v1/audit", "Search the audit log", Admin, s.listAudit},
		{http.MethodGet, "/api/v1/audit/export", "Export the audit log (JSONL or CSV, streamed)", Admin, s.exportAudit},
		{http.MethodGet, "/api/v1/audit/verify", "Verify the audit log's hash chain", Admin, s.verifyAudit},
		{http.MethodGet, "/api/v1/audit/checkpoints", "Signed checkpoints of the audit log's head", Admin, s.auditCheckpoints},
	}
}
