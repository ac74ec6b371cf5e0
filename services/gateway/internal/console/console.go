// Package console is the web console served by the gateway: server-rendered
// html/template pages with embedded assets and no external resources.
//
// The console calls the back-end services over NATS with the signed-in user
// in the request context, exactly as the API does; the services check roles
// again themselves. Pages a role may not use are left out of its menu and
// refused (403) when opened anyway.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/services/gateway/internal/healthcheck"
	"github.com/gin-gonic/gin"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// SetupState tells where the installation stands.
type SetupState struct {
	Licensed     bool
	Bootstrapped bool
}

// Console renders the pages.
type Console struct {
	Log    *slog.Logger
	Health *healthcheck.Checker
	Setup  func(c *gin.Context) (SetupState, error)
	// NATS reaches identity, licensing, runners and audit; nil makes those pages unavailable.
	NATS *natsrpc.Client
	// Principal is the signed-in user that the gateway's Authenticate
	// middleware resolved (httpapi.Principal); nil means nobody is signed in.
	Principal func(c *gin.Context) *identity.Principal
	// CertFingerprint returns the SHA-256 fingerprint of the certificate the
	// gateway serves now, shown in the agent command next to a new machine
	// secret; nil (or "") when the gateway serves plain HTTP.
	CertFingerprint func() string

	pages map[string]*template.Template
	table []route
}

// anyone is the access of a page that needs no sign-in.
const anyone = ""

// route is one console page or form action.
type route struct {
	method string
	path   string
	access string // the least role allowed, or anyone
	page   string // the page it belongs to: nav id and current-page marker
	nav    string // menu label; "" keeps it out of the menu
	handle gin.HandlerFunc
}

func (con *Console) routes() []route {
	get, post, admin, developer, signedIn := http.MethodGet, http.MethodPost, identity.RoleAdmin, identity.RoleDeveloper, identity.RoleOperator
	return []route{
		{get, "/", anyone, "dashboard", "Dashboard", con.home},
		{get, "/runners", signedIn, "runners", "Runners", con.runnersPage},
		{post, "/runners", admin, "runners", "", con.registerRunner},
		{get, "/runners/:id", signedIn, "runners", "", con.runnerPage},
		{get, "/runners/:id/regenerate", admin, "runners", "", con.confirmRegenerate},
		{post, "/runners/:id/regenerate", admin, "runners", "", con.regenerateSecret},
		{get, "/runners/:id/delete", admin, "runners", "", con.confirmRunnerDelete},
		{post, "/runners/:id/delete", admin, "runners", "", con.deleteRunner},
		{get, "/packages", signedIn, "packages", "Packages", con.packagesPage},
		{get, "/packages/:name", signedIn, "packages", "", con.packageVersions},
		{get, "/jobs", signedIn, "jobs", "Jobs", con.jobsPage},
		{post, "/jobs", signedIn, "jobs", "", con.startJob},
		{get, "/jobs/new", signedIn, "jobs", "", con.startPage},
		{get, "/jobs/:id", signedIn, "jobs", "", con.jobPage},
		{post, "/jobs/:id/cancel", signedIn, "jobs", "", con.cancelJob},
		{post, "/jobs/:id/rerun", signedIn, "jobs", "", con.rerunJob},
		{get, "/schedules", signedIn, "schedules", "Schedules", con.schedulesPage},
		{get, "/schedules/new", developer, "schedules", "", con.newSchedulePage},
		{post, "/schedules", developer, "schedules", "", con.createSchedule},
		{get, "/schedules/:id", signedIn, "schedules", "", con.schedulePage},
		{get, "/schedules/:id/edit", developer, "schedules", "", con.editSchedulePage},
		{post, "/schedules/:id/edit", developer, "schedules", "", con.updateSchedule},
		{post, "/schedules/:id/pause", signedIn, "schedules", "", con.scheduleAction(runners.SubjectSchedulePause, "schedule_paused")},
		{post, "/schedules/:id/resume", signedIn, "schedules", "", con.scheduleAction(runners.SubjectScheduleResume, "schedule_resumed")},
		{post, "/schedules/:id/run", signedIn, "schedules", "", con.runSchedule},
		{get, "/schedules/:id/delete", developer, "schedules", "", con.confirmScheduleDelete},
		{post, "/schedules/:id/delete", developer, "schedules", "", con.scheduleAction(runners.SubjectScheduleDelete, "schedule_deleted")},
		{get, "/calendars", signedIn, "schedules", "", con.calendarsPage},
		{get, "/calendars/new", developer, "schedules", "", con.newCalendarPage},
		{post, "/calendars", developer, "schedules", "", con.createCalendar},
		{get, "/calendars/:id", signedIn, "schedules", "", con.calendarPage},
		{post, "/calendars/:id", developer, "schedules", "", con.updateCalendar},
		{get, "/calendars/:id/delete", developer, "schedules", "", con.confirmCalendarDelete},
		{post, "/calendars/:id/delete", developer, "schedules", "", con.deleteCalendar},
		{get, "/assets", signedIn, "assets", "Assets", con.assetsPage},
		{post, "/assets", developer, "assets", "", con.createAsset},
		{get, "/assets/:name", signedIn, "assets", "", con.assetPage},
		{post, "/assets/:name", developer, "assets", "", con.updateAsset},
		{post, "/assets/:name/values", developer, "assets", "", con.setAssetValue},
		{post, "/assets/:name/values/delete", developer, "assets", "", con.deleteAssetValue},
		{get, "/assets/:name/delete", developer, "assets", "", con.confirmAssetDelete},
		{post, "/assets/:name/delete", developer, "assets", "", con.deleteAsset},
		{get, "/tokens", signedIn, "tokens", "API tokens", con.tokensPage},
		{post, "/tokens", signedIn, "tokens", "", con.createToken},
		{post, "/tokens/:id/revoke", signedIn, "tokens", "", con.revokeToken},
		{get, "/status", anyone, "status", "", con.status},
		{get, "/activate", anyone, "activate", "", con.activatePage},
		{post, "/activate", anyone, "activate", "", con.activate},
		{get, "/bootstrap", anyone, "bootstrap", "", con.bootstrapPage},
		{post, "/bootstrap", anyone, "bootstrap", "", con.bootstrap},
		{get, "/login", anyone, "login", "", con.loginPage},
		{post, "/login", anyone, "login", "", con.login},
		{post, "/logout", anyone, "login", "", con.logout},
		{get, "/users", admin, "users", "Users", con.usersPage},
		{post, "/users", admin, "users", "", con.createUser},
		{post, "/users/:id/role", admin, "users", "", con.setRole},
		{post, "/users/:id/disabled", admin, "users", "", con.setDisabled},
		{post, "/users/:id/password", admin, "users", "", con.resetPassword},
		{get, "/users/:id/delete", admin, "users", "", con.confirmDelete},
		{post, "/users/:id/delete", admin, "users", "", con.deleteUser},
		{get, "/license", admin, "license", "License", con.licensePage},
		{post, "/license/renew", admin, "license", "", con.renewLicense},
		{post, "/license/validate", admin, "license", "", con.validateLicense},
		{post, "/license/receipt", admin, "license", "", con.importReceipt},
		{get, "/audit", admin, "audit", "Audit", con.auditPage},
	}
}

// pageNames are the templates under templates/, each defining "content".
var pageNames = []string{"status", "error", "dashboard", "activate", "bootstrap", "login",
	"users", "user_delete", "license", "audit", "runners", "runner_secret", "runner_regenerate", "runner_delete",
	"packages", "jobs", "job", "job_start", "runner",
	"schedules", "schedule", "schedule_form", "schedule_delete", "calendars", "calendar", "calendar_delete",
	"assets", "asset", "asset_delete", "tokens"}

// Mount parses the templates and adds the console's routes to e.
func (con *Console) Mount(e *gin.Engine) error {
	if err := con.parse(); err != nil {
		return err
	}
	static, _ := fs.Sub(staticFiles, "static")
	e.StaticFS("/static", http.FS(static))
	con.table = con.routes()
	for _, r := range con.table {
		// The guard and the CSRF check come before any handler reads the
		// form, and the guard before the CSRF check, which reads it.
		e.Handle(r.method, r.path, con.limitBody, con.guard(r.access), con.csrf, r.handle)
	}
	return nil
}

func (con *Console) parse() error {
	base, err := template.New("console").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return err
	}
	con.pages = map[string]*template.Template{}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return err
		}
		con.pages[name] = t
	}
	return nil
}

// principal is the signed-in user, or nil.
func (con *Console) principal(c *gin.Context) *identity.Principal {
	if con.Principal == nil {
		return nil
	}
	return con.Principal(c)
}

// setup asks where the installation stands.
func (con *Console) setup(c *gin.Context) (SetupState, error) {
	if con.Setup == nil {
		return SetupState{}, errUnwired
	}
	return con.Setup(c)
}
