package httpapi

import (
	"net/http"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// Runner is the access level of the runner protocol: HTTP Basic with the
// runner id and machine secret, checked by the runners service.
const Runner = "runner"

func (s *Server) listRunners(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	req := runners.ListRequest{Limit: limit, Cursor: c.Query("cursor"), Environment: c.Query("environment"), Status: c.Query("status")}
	return forward(c, s, runners.SubjectList, req, http.StatusOK)
}

func (s *Server) getRunner(c *gin.Context) error {
	return forward(c, s, runners.SubjectGet, runners.GetRequest{ID: c.Param("id")}, http.StatusOK)
}

func (s *Server) registerRunner(c *gin.Context) error {
	web.NoStore(c) // the answer holds the machine secret
	return decodeAndForward[runners.RegisterRequest](c, s, runners.SubjectRegister, http.StatusCreated)
}

func (s *Server) deleteRunner(c *gin.Context) error {
	if _, err := natsrpc.Call[runners.DeleteResponse](c.Request.Context(), s.NATS, runners.SubjectDelete,
		runners.DeleteRequest{ID: c.Param("id")}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) regenerateSecret(c *gin.Context) error {
	web.NoStore(c) // the answer holds the machine secret
	return forward(c, s, runners.SubjectRegenerateSecret,
		runners.RegenerateSecretRequest{ID: c.Param("id")}, http.StatusOK)
}

// runnerCredentials reads HTTP Basic; the secret goes on only as its SHA-256.
func runnerCredentials(c *gin.Context) (runners.Credentials, error) {
	id, secret, ok := c.Request.BasicAuth()
	if !ok || id == "" || secret == "" {
		c.Header("WWW-Authenticate", `Basic realm="exekra-runner"`)
		return runners.Credentials{}, errs.E(errs.Unauthenticated, "runners authenticate with HTTP Basic: runner id and machine secret")
	}
	return runners.Credentials{RunnerID: id, SecretSHA256: runners.SecretSHA256(secret)}, nil
}

func (s *Server) heartbeat(c *gin.Context) error {
	creds, err := runnerCredentials(c)
	if err != nil {
		return err
	}
	var hb runners.Heartbeat
	if err := web.DecodeJSON(c, &hb); err != nil {
		return err
	}
	req := runners.HeartbeatRequest{Credentials: creds, Protocol: c.GetHeader(runners.HeaderProtocol),
		UserAgent: c.GetHeader(runners.HeaderUserAgent), Heartbeat: hb}
	return forward(c, s, runners.SubjectHeartbeat, req, http.StatusOK)
}

// runnerMetrics answers a runner's metrics history over ?hours=.
func (s *Server) runnerMetrics(c *gin.Context) error {
	hours, err := queryInt(c, "hours", runners.MetricsHistoryHours, 1, runners.MetricsHistoryHours)
	if err != nil {
		return err
	}
	req := runners.RunnerMetricsRequest{ID: c.Param("id"), Hours: hours}
	return forward(c, s, runners.SubjectRunnerMetrics, req, http.StatusOK)
}
