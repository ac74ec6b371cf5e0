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
}

// Route is one entry of the public API; the OpenAPI document is built from these.
type Route struct {
	Method  string
	Path    string // gin syntax: /api/v1/users/:id
	Summary string
	Access  string // who may call it: anyone, user, ADMIN, runner...
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
		web.SecurityHeaders(s.HTTPS), web.BodyLimit(s.Log, s.MaxBodyBytes))
	routes := s.Routes()
	for _, r := range routes {
		e.Handle(r.Method, r.Path, web.Wrap(s.Log, r.Handle))
	}
	doc := OpenAPI(routes)
	e.GET("/api/v1/openapi.json", func(c *gin.Context) { c.JSON(http.StatusOK, doc) })
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
		{http.MethodGet, "/api/health", "Health of the Hub and each of its parts", "anyone", s.health},
		{http.MethodGet, "/api/v1/setup", "Whether a license is active and the first admin exists", "anyone", s.setup},
	}
}
