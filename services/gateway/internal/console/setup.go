package console

import (
	"net/http"
	"strings"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

type activateData struct {
	License string // the text sent, kept when it was refused
}

// activatePage offers activation while no license is active; afterwards
// renewal is the license page's job, for administrators.
func (con *Console) activatePage(c *gin.Context) {
	st, err := con.setup(c)
	if err != nil {
		con.fail(c, err)
		return
	}
	if st.Licensed {
		con.renewInstead(c)
		return
	}
	con.show(c, http.StatusOK, "activate", page{Title: "Activate the license", Data: activateData{}})
}

// renewInstead sends whoever opens /activate under an active license where renewal happens.
func (con *Console) renewInstead(c *gin.Context) {
	p := con.principal(c)
	switch {
	case p == nil:
		redirect(c, "/login")
	case identity.RoleAtLeast(p.User.Role, identity.RoleAdmin):
		redirect(c, "/license")
	default:
		con.forbidden(c, identity.RoleAdmin)
	}
}

func (con *Console) activate(c *gin.Context) {
	d := activateData{License: c.PostForm("license")}
	err := errNoText
	if strings.TrimSpace(d.License) != "" {
		_, err = call[licensing.Status](c, con, licensing.SubjectActivate, licensing.ActivateRequest{License: d.License})
	}
	if err != nil {
		msg := con.inline(c, err)
		if errs.Is(err, errs.PermissionDenied) && con.principal(c) == nil {
			msg = "A license is already active; sign in as an ADMIN to renew it."
		}
		con.show(c, statusOf(err), "activate", page{Title: "Activate the license", Error: msg, Data: d})
		return
	}
	if st, err := con.setup(c); err == nil && st.Bootstrapped {
		redirect(c, "/license?flash=license_activated")
		return
	}
	redirect(c, "/bootstrap?flash=license_activated")
}

var errNoText = errs.E(errs.InvalidArgument, "Paste the file's text, or choose the file.")

type bootstrapData struct {
	Email, Name string
}

// bootstrapPage creates the first administrator once a license is active.
func (con *Console) bootstrapPage(c *gin.Context) {
	st, err := con.setup(c)
	switch {
	case err != nil:
		con.fail(c, err)
	case !st.Licensed:
		redirect(c, "/activate")
	case st.Bootstrapped:
		redirect(c, "/login")
	default:
		con.show(c, http.StatusOK, "bootstrap", page{Title: "Create the first administrator", Data: bootstrapData{}})
	}
}

func (con *Console) bootstrap(c *gin.Context) {
	d := bootstrapData{Email: strings.TrimSpace(c.PostForm("email")), Name: strings.TrimSpace(c.PostForm("name"))}
	password := c.PostForm("password")
	err := errs.E(errs.InvalidArgument, "The two passwords differ; type the same password twice.")
	if password == c.PostForm("confirm") {
		_, err = call[identity.User](c, con, identity.SubjectBootstrap,
			identity.BootstrapRequest{Email: d.Email, Name: d.Name, Password: password})
	}
	switch {
	case err == nil:
		redirect(c, "/login?flash=bootstrapped")
	case errs.Is(err, errs.AlreadyBootstrap):
		redirect(c, "/login")
	case errs.Is(err, errs.LicenseRequired):
		redirect(c, "/activate")
	default:
		con.show(c, statusOf(err), "bootstrap", page{Title: "Create the first administrator", Error: con.inline(c, err), Data: d})
	}
}
