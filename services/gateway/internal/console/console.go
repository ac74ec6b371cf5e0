// Package console is the web console served by the gateway: server-rendered
// html/template pages with embedded assets and no external resources.
package console

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/exekra/hub/libs/buildinfo"
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
	pages  map[string]*template.Template
}

// Mount parses the templates and adds the console's routes to e.
func (con *Console) Mount(e *gin.Engine) error {
	layout, err := template.ParseFS(templateFiles, "templates/layout.html")
	if err != nil {
		return err
	}
	con.pages = map[string]*template.Template{}
	for _, name := range []string{"status"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFiles, "templates/"+name+".html")
		if err != nil {
			return err
		}
		con.pages[name] = t
	}
	static, _ := fs.Sub(staticFiles, "static")
	e.StaticFS("/static", http.FS(static))
	e.GET("/", con.status)
	return nil
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Version string
	Now     string
	Data    any
}

func (con *Console) render(c *gin.Context, status int, name, title string, data any) {
	var buf bytes.Buffer
	p := page{Title: title, Nav: name, Version: buildinfo.Version, Now: time.Now().UTC().Format(time.RFC3339), Data: data}
	if err := con.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		con.Log.ErrorContext(c.Request.Context(), "render page", "page", name, "err", err)
		c.String(http.StatusInternalServerError, "the page could not be rendered; see the Hub logs")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

type statusData struct {
	Health     healthcheck.Report
	Setup      SetupState
	SetupKnown bool
}

func (con *Console) status(c *gin.Context) {
	d := statusData{Health: con.Health.Check(c.Request.Context())}
	if st, err := con.Setup(c); err == nil {
		d.Setup, d.SetupKnown = st, true
	}
	code := http.StatusOK
	if !d.Health.OK() {
		code = http.StatusServiceUnavailable
	}
	con.render(c, code, "status", "Hub status", d)
}
