package console

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
)

// runnersPageSize is how many runners one page of the table shows.
const runnersPageSize = 50

type runnersData struct {
	Rows         []runnerRow
	Filter       listFilter
	Environments []string
	Statuses     []string
	Next         string // link to the next page; "" on the last
	First        string // link back to the first page while paging
	Admin        bool   // offer register, regenerate and delete
	Register     registerForm
}

// listFilter is a list page's filter form (runners, jobs) as sent; "" means any.
type listFilter struct {
	Environment, Status string
	Runner, Package     string // jobs only: a runner id, a package name
	Since, Until        string // jobs only: datetime-local values, read as UTC
	Schedule            string // jobs only: the id of the schedule that started them
}

// Any reports whether the filter narrows the list.
func (f listFilter) Any() bool { return f != listFilter{} }

// registerForm holds what was typed into the register form.
type registerForm struct {
	Name, Environment, Labels string
}

var freshRegisterForm = registerForm{Environment: runners.EnvDevelopment}

func (con *Console) runnersPage(c *gin.Context) {
	con.showRunners(c, http.StatusOK, "", freshRegisterForm)
}

// showRunners renders a page of runners, with msg as the error of the form
// just sent. A filter or cursor the service refuses is shown inline too.
func (con *Console) showRunners(c *gin.Context, status int, msg string, form registerForm) {
	f := listFilter{Environment: c.Query("environment"), Status: c.Query("status")}
	cursor := c.Query("cursor")
	d := runnersData{Filter: f, Environments: runners.Environments, Statuses: runners.Statuses,
		Admin: con.isAdmin(c), Register: form}
	list, err := call[runners.ListResponse](c, con, runners.SubjectList,
		runners.ListRequest{Limit: runnersPageSize, Cursor: cursor, Environment: f.Environment, Status: f.Status})
	switch {
	case err == nil:
	case errs.Is(err, errs.InvalidArgument) && msg == "":
		status, msg = statusOf(err), con.inline(c, err)
	default:
		if msg == "" {
			con.fail(c, err)
			return
		}
	}
	now := time.Now()
	for _, r := range list.Items {
		d.Rows = append(d.Rows, newRunnerRow(r, now))
	}
	if list.NextCursor != "" {
		d.Next = "/runners?" + f.values("cursor", list.NextCursor).Encode()
	}
	if cursor != "" {
		d.First = strings.TrimSuffix("/runners?"+f.values().Encode(), "?")
	}
	con.show(c, status, "runners", page{Title: "Runners", Error: msg, Data: d})
}

// values is the filter as a query string, plus one extra key and value.
func (f listFilter) values(extra ...string) url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"environment": f.Environment, "status": f.Status, "runner": f.Runner,
		"package": f.Package, "since": f.Since, "until": f.Until, "schedule_id": f.Schedule} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if len(extra) == 2 {
		v.Set(extra[0], extra[1])
	}
	return v
}

func (con *Console) isAdmin(c *gin.Context) bool {
	p := con.principal(c)
	return p != nil && identity.RoleAtLeast(p.User.Role, identity.RoleAdmin)
}

// registerRunner registers a runner and shows its secret on the answer page
// itself: never a redirect, so the secret is in no URL, flash or history entry.
func (con *Console) registerRunner(c *gin.Context) {
	form := registerForm{Name: strings.TrimSpace(c.PostForm("name")), Environment: c.PostForm("environment"),
		Labels: c.PostForm("labels")}
	req := runners.RegisterRequest{Name: form.Name, Environment: form.Environment, Labels: splitLabels(form.Labels)}
	reg, err := call[runners.Registered](c, con, runners.SubjectRegister, req)
	if err != nil {
		con.showRunners(c, statusOf(err), con.inline(c, err), form)
		return
	}
	con.showSecret(c, reg.Runner, reg.MachineSecret, false)
}

// getRunner reads the runner named in the path, rendering the error page when
// it cannot.
func (con *Console) getRunner(c *gin.Context) (runners.Runner, bool) {
	r, err := call[runners.Runner](c, con, runners.SubjectGet, runners.GetRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return r, false
	}
	return r, true
}

// confirmRegenerate asks before a machine secret is replaced.
func (con *Console) confirmRegenerate(c *gin.Context) {
	con.showRegenerate(c, http.StatusOK, "")
}

func (con *Console) showRegenerate(c *gin.Context, status int, msg string) {
	if r, ok := con.getRunner(c); ok {
		con.show(c, status, "runner_regenerate", page{Title: "Regenerate machine secret", Error: msg, Data: r})
	}
}

// regenerateSecret replaces the secret once the confirmation page was used,
// then shows the new one like registerRunner does.
func (con *Console) regenerateSecret(c *gin.Context) {
	if c.PostForm("confirm") != "yes" {
		con.showRegenerate(c, http.StatusBadRequest, "Confirm on this page that the old secret may stop working.")
		return
	}
	id := c.Param("id")
	sec, err := call[runners.MachineSecret](c, con, runners.SubjectRegenerateSecret, runners.RegenerateSecretRequest{ID: id})
	if err != nil {
		con.fail(c, err)
		return
	}
	r, err := call[runners.Runner](c, con, runners.SubjectGet, runners.GetRequest{ID: id})
	if err != nil { // the secret has changed already: show it anyway
		con.inline(c, err)
		r = runners.Runner{ID: id}
	}
	con.showSecret(c, r, sec.MachineSecret, true)
}

// confirmRunnerDelete asks before a runner is deleted.
func (con *Console) confirmRunnerDelete(c *gin.Context) {
	if r, ok := con.getRunner(c); ok {
		con.show(c, http.StatusOK, "runner_delete", page{Title: "Delete runner", Data: r})
	}
}

func (con *Console) deleteRunner(c *gin.Context) {
	_, err := call[runners.DeleteResponse](c, con, runners.SubjectDelete, runners.DeleteRequest{ID: c.Param("id")})
	if err != nil && !errs.Is(err, errs.NotFound) {
		con.showRunners(c, statusOf(err), con.inline(c, err), freshRegisterForm)
		return
	}
	redirect(c, "/runners?flash=runner_deleted")
}
