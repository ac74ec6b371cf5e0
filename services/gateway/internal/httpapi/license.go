package httpapi

import (
	"net/http"
	"regexp"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// activateLicense is open while no license is active; licensing refuses a
// renewal by anyone but an ADMIN, and an anonymous caller is told to sign in.
func (s *Server) activateLicense(c *gin.Context) error {
	var req licensing.ActivateRequest
	if err := web.DecodeJSON(c, &req); err != nil {
		return err
	}
	st, err := natsrpc.Call[licensing.Status](c.Request.Context(), s.NATS, licensing.SubjectActivate, req)
	if err != nil {
		if errs.KindOf(err) == errs.PermissionDenied && Principal(c) == nil {
			return errs.E(errs.Unauthenticated, "a license is already active; sign in as an ADMIN to renew it")
		}
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (s *Server) licenseStatus(c *gin.Context) error {
	return forward(c, s, licensing.SubjectStatus, licensing.StatusRequest{}, http.StatusOK)
}

func (s *Server) validateLicense(c *gin.Context) error {
	return forward(c, s, licensing.SubjectValidate, licensing.ValidateRequest{}, http.StatusOK)
}

func (s *Server) usageReport(c *gin.Context) error {
	rep, err := natsrpc.Call[licensing.UsageReport](c.Request.Context(), s.NATS, licensing.SubjectUsageReport, licensing.UsageReportRequest{})
	if err != nil {
		return err
	}
	c.Header("Content-Disposition", `attachment; filename="`+safeFileName.ReplaceAllString(rep.FileName, "_")+`"`)
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(rep.Content))
	return nil
}

func (s *Server) importReceipt(c *gin.Context) error {
	return decodeAndForward[licensing.ReceiptRequest](c, s, licensing.SubjectReceipt, http.StatusOK)
}

var safeFileName = regexp.MustCompile(`[^A-Za-z0-9._-]`)
