package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/web"
	"github.com/gin-gonic/gin"
)

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the page's name (see pageNames)
	Version string
	Commit  string
	Now     string
	CSRF    string         // the CSRF token every form sends (websession.Token)
	User    *identity.User // nil when nobody is signed in
	Menu    []navItem
	Flash   string // a confirmation from the previous step
	Error   string // a caller-safe error message, shown above the content
	Data    any
}

// navItem is one entry of the menu.
type navItem struct {
	ID, Path, Label string
	Current         bool
}

// flashes are the confirmations a redirect may ask for with ?flash=<key>;
// only these fixed texts are ever shown, never text from the URL.
var flashes = map[string]string{
	"license_activated": "License activated.",
	"bootstrapped":      "Administrator created; sign in.",
	"signed_out":        "You have signed out.",
	"user_created":      "User created.",
	"user_role":         "Role changed; that user's sessions have ended.",
	"user_disabled":     "User disabled; their sessions have ended.",
	"user_enabled":      "User enabled.",
	"user_password":     "Password reset; that user's sessions have ended.",
	"user_deleted":      "User deleted.",
	"license_renewed":   "License renewed.",
	"license_validated": "License validated.",
	"receipt_imported":  "Receipt imported.",
	"runner_deleted":    "Runner deleted; its credentials no longer work.",
}

var funcs = template.FuncMap{
	"when":    when,
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"short":   func(s string) string { return s[:min(len(s), 12)] },
	// statusLabel shows a runner status: never_connected -> never connected.
	"statusLabel": func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"targetLink":  targetLink,
}

// when shows a time (or *time.Time) in UTC to the minute; "—" when unset.
func when(v any) string {
	var t time.Time
	switch x := v.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	}
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// show renders the page name inside the layout with the menu of the signed-in user.
func (con *Console) show(c *gin.Context, status int, name string, p page) {
	p.Nav, p.Version, p.Commit, p.Now = name, buildinfo.Version, buildinfo.Commit, time.Now().UTC().Format(time.RFC3339)
	p.CSRF = csrfToken(c)
	if pr := con.principal(c); pr != nil {
		u := pr.User
		p.User = &u
	}
	p.Menu = con.menu(p.User, name)
	if p.Flash == "" {
		p.Flash = flashes[c.Query("flash")]
	}
	var buf bytes.Buffer
	t, ok := con.pages[name]
	if !ok {
		con.Log.ErrorContext(c.Request.Context(), "console: no such page template", "page", name)
		c.String(http.StatusInternalServerError, "the page could not be rendered; see the Hub logs")
		return
	}
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		con.Log.ErrorContext(c.Request.Context(), "render page", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "the page could not be rendered; see the Hub logs")
		return
	}
	web.NoStore(c) // pages show machine secrets, forms hold CSRF tokens
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// sections maps pages to the menu entry they are found under, when its id differs.
var sections = map[string]string{"schedule": "schedules", "schedule_form": "schedules", "schedule_delete": "schedules",
	"calendars": "schedules", "calendar": "schedules", "calendar_delete": "schedules",
	"asset": "assets", "asset_delete": "assets"}

// menu lists the pages u may use; anonymous visitors see the status page only.
func (con *Console) menu(u *identity.User, current string) []navItem {
	if u == nil {
		return []navItem{{ID: "status", Path: "/status", Label: "Status", Current: current == "status"}}
	}
	var items []navItem
	for _, r := range con.table {
		if r.nav == "" || (r.access != anyone && !identity.RoleAtLeast(u.Role, r.access)) {
			continue
		}
		items = append(items, navItem{ID: r.page, Path: r.path, Label: r.nav, Current: r.page == current || r.page == sections[current]})
	}
	return items
}

// errorData is the content of the error page.
type errorData struct {
	Code        string
	Unavailable bool
}

// fail renders err as a whole page: a friendly 503 when a service is down,
// otherwise the error's public message with its status.
func (con *Console) fail(c *gin.Context, err error) {
	kind, msg := errs.Public(err)
	title := "Something went wrong"
	switch kind {
	case errs.Unauthenticated:
		redirect(c, "/login")
		return
	case errs.Unavailable:
		title = "Service unavailable"
	case errs.PermissionDenied:
		title = "Not allowed"
	case errs.NotFound:
		title = "Not found"
	}
	con.logFailure(c, kind, err)
	con.show(c, kind.HTTPStatus(), "error", page{Title: title, Error: msg, Data: errorData{Code: string(kind), Unavailable: kind == errs.Unavailable}})
}

// forbidden refuses a page the signed-in user's role may not use.
func (con *Console) forbidden(c *gin.Context, access string) {
	role := ""
	if p := con.principal(c); p != nil {
		role = p.User.Role
	}
	msg := fmt.Sprintf("This page needs the %s role; you are signed in as %s.", access, role)
	con.show(c, http.StatusForbidden, "error", page{Title: "Not allowed", Error: msg, Data: errorData{Code: string(errs.PermissionDenied)}})
}

// inline returns the message to show next to a form for err; internals are
// logged, never shown.
func (con *Console) inline(c *gin.Context, err error) string {
	kind, msg := errs.Public(err)
	con.logFailure(c, kind, err)
	return msg
}

func (con *Console) logFailure(c *gin.Context, kind errs.Kind, err error) {
	switch kind {
	case errs.Internal:
		con.Log.ErrorContext(c.Request.Context(), "console request failed", "path", c.FullPath(), "err", err)
	case errs.Unavailable:
		con.Log.WarnContext(c.Request.Context(), "console: service unavailable", "path", c.FullPath(), "err", err)
	}
}

// statusOf is the HTTP status of the page that shows err inline.
func statusOf(err error) int {
	kind, _ := errs.Public(err)
	return kind.HTTPStatus()
}

func redirect(c *gin.Context, location string) { c.Redirect(http.StatusSeeOther, location) }

var errUnwired = errs.E(errs.Unavailable, "the console is not connected to the Hub's services")

// call sends req to subject on behalf of the request's signed-in user.
func call[Resp any](c *gin.Context, con *Console, subject string, req any) (Resp, error) {
	if con.NATS == nil {
		var zero Resp
		return zero, errUnwired
	}
	return natsrpc.Call[Resp](c.Request.Context(), con.NATS, subject, req)
}
