package httpapi

import (
	"net/http"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/gin-gonic/gin"
)

// health answers 200 when every part is up, else 503 naming the parts that are down.
func (s *Server) health(c *gin.Context) error {
	report := s.Health.Check(c.Request.Context())
	status := http.StatusOK
	if !report.OK() {
		status = http.StatusServiceUnavailable
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, report)
	return nil
}

// SetupState is the body of GET /api/v1/setup.
type SetupState struct {
	Licensed     bool `json:"licensed"`
	Bootstrapped bool `json:"bootstrapped"`
}

func (s *Server) setup(c *gin.Context) error {
	st, err := s.SetupState(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

// SetupState asks licensing and identity where the installation stands.
func (s *Server) SetupState(c *gin.Context) (SetupState, error) {
	ctx := c.Request.Context()
	lic, err := natsrpc.Call[licensing.SetupState](ctx, s.NATS, licensing.SubjectSetupState, licensing.SetupStateRequest{})
	if err != nil {
		return SetupState{}, err
	}
	id, err := natsrpc.Call[identity.SetupState](ctx, s.NATS, identity.SubjectSetupState, identity.SetupStateRequest{})
	if err != nil {
		return SetupState{}, err
	}
	return SetupState{Licensed: lic.Licensed, Bootstrapped: id.Bootstrapped}, nil
}
