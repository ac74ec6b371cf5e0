package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// forward sends req to subject, once it passed its own check, and answers
// the reply with status.
func forward(c *gin.Context, s *Server, subject string, req any, status int) error {
	if err := check(req); err != nil {
		return err
	}
	// The service's reply is the contract's JSON already: it goes out as it
	// came, not decoded and encoded again.
	resp, err := natsrpc.Call[json.RawMessage](c.Request.Context(), s.NATS, subject, req)
	if err != nil {
		return err
	}
	c.Data(status, "application/json; charset=utf-8", resp)
	return nil
}

// decodeAndForward reads the JSON body into Req, then forwards it.
func decodeAndForward[Req any](c *gin.Context, s *Server, subject string, status int) error {
	var req Req
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	return forward(c, s, subject, req, status)
}

func (s *Server) bootstrap(c *gin.Context) error {
	return decodeAndForward[identity.BootstrapRequest](c, s, identity.SubjectBootstrap, http.StatusCreated)
}

func (s *Server) login(c *gin.Context) error {
	web.NoStore(c) // the answer holds the session token
	return decodeAndForward[identity.LoginRequest](c, s, identity.SubjectLogin, http.StatusOK)
}

func (s *Server) logout(c *gin.Context) error {
	if _, err := natsrpc.Call[identity.LogoutResponse](c.Request.Context(), s.NATS, identity.SubjectLogout,
		identity.LogoutRequest{Token: auth(c).token}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) me(c *gin.Context) error {
	c.JSON(http.StatusOK, Principal(c).User)
	return nil
}

// pageLimit reads ?limit= (default 50, 1–500).
func pageLimit(c *gin.Context) (int, error) {
	raw := c.DefaultQuery("limit", "50")
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 500 {
		return 0, errs.Ef(errs.InvalidArgument, "limit must be a whole number from 1 to 500, not %q", raw)
	}
	return n, nil
}

func (s *Server) listUsers(c *gin.Context) error {
	limit, err := pageLimit(c)
	if err != nil {
		return err
	}
	return forward(c, s, identity.SubjectUsersList,
		identity.ListUsersRequest{Limit: limit, Cursor: c.Query("cursor")}, http.StatusOK)
}

func (s *Server) createUser(c *gin.Context) error {
	return decodeAndForward[identity.CreateUserRequest](c, s, identity.SubjectUsersCreate, http.StatusCreated)
}

func (s *Server) getUser(c *gin.Context) error {
	return forward(c, s, identity.SubjectUsersGet, identity.GetUserRequest{ID: c.Param("id")}, http.StatusOK)
}

// userPatch is the body of PATCH /api/v1/users/{id}.
type userPatch struct {
	Name     *string `json:"name"`
	Role     *string `json:"role"`
	Disabled *bool   `json:"disabled"`
	Password *string `json:"password"`
}

func (s *Server) updateUser(c *gin.Context) error {
	var p userPatch
	if err := web.DecodeJSON(c, &p); err != nil {
		return err
	}
	req := identity.UpdateUserRequest{ID: c.Param("id"), Name: p.Name, Role: p.Role, Disabled: p.Disabled, Password: p.Password}
	return forward(c, s, identity.SubjectUsersUpdate, req, http.StatusOK)
}

func (s *Server) deleteUser(c *gin.Context) error {
	if _, err := natsrpc.Call[identity.DeleteUserResponse](c.Request.Context(), s.NATS, identity.SubjectUsersDelete,
		identity.DeleteUserRequest{ID: c.Param("id")}); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
