package console

import (
	"net/http"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/gin-gonic/gin"
)

type statusData struct {
	Health     healthcheck.Report
	Setup      SetupState
	SetupKnown bool
}

// status is the health view anyone may open, signed in or not.
func (con *Console) status(c *gin.Context) {
	d := statusData{Health: con.Health.Check(c.Request.Context())}
	if st, err := con.setup(c); err == nil {
		d.Setup, d.SetupKnown = st, true
	}
	code := http.StatusOK
	if !d.Health.OK() {
		code = http.StatusServiceUnavailable
	}
	con.show(c, code, "status", page{Title: "Hub status", Data: d})
}

type dashboardData struct {
	Health       healthcheck.Report
	Setup        SetupState
	License      *licensing.Status // nil when licensing does not show it to this role
	LicenseError string
}

// home leads through the setup steps (license, first administrator, sign in)
// and then shows the dashboard.
func (con *Console) home(c *gin.Context) {
	st, err := con.setup(c)
	if err != nil {
		con.fail(c, err)
		return
	}
	switch {
	case !st.Licensed:
		redirect(c, "/activate")
		return
	case !st.Bootstrapped:
		redirect(c, "/bootstrap")
		return
	case con.principal(c) == nil:
		redirect(c, "/login")
		return
	}
	d := dashboardData{Health: con.Health.Check(c.Request.Context()), Setup: st}
	lic, err := call[licensing.Status](c, con, licensing.SubjectStatus, licensing.StatusRequest{})
	switch {
	case err == nil:
		d.License = &lic
	case errs.Is(err, errs.PermissionDenied):
		// the setup state's "active" is all this role sees of the license
	default:
		d.LicenseError = con.inline(c, err)
	}
	con.show(c, http.StatusOK, "dashboard", page{Title: "Dashboard", Data: d})
}
