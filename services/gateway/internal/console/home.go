package console

import (
	"net/http"
	"slices"
	"time"

	"github.com/exekra/hub/libs/contract/licensing"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/services/gateway/internal/console/svgchart"
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
	Fleet        *fleetCard // nil when the runners service could not be asked
	FleetError   string
	Recent       []jobRow
	RecentError  string
	Charts       []svgchart.Chart
	ChartsError  string
}

// dashboardJobs is how many recent jobs the dashboard shows.
const dashboardJobs = 10

// fleetCard is the runners by status, per environment and in all.
type fleetCard struct {
	Statuses []string
	Rows     []fleetRow
	Total    fleetRow
}

type fleetRow struct {
	Environment string
	Counts      []int // in Statuses' order
	All         int
}

func newFleetCard(c runners.Census) *fleetCard {
	card := &fleetCard{Statuses: runners.Statuses, Total: fleetRow{Environment: "All", Counts: make([]int, len(runners.Statuses))}}
	for _, env := range runners.Environments {
		row := fleetRow{Environment: env, Counts: make([]int, len(runners.Statuses))}
		for _, r := range c.Rows {
			if i := slices.Index(runners.Statuses, r.Status); r.Environment == env && i >= 0 {
				row.Counts[i] += r.Runners
				row.All += r.Runners
				card.Total.Counts[i] += r.Runners
				card.Total.All += r.Runners
			}
		}
		card.Rows = append(card.Rows, row)
	}
	return card
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
	// Each card stands alone: a service that is down empties only its card.
	if census, err := call[runners.Census](c, con, runners.SubjectCensus, runners.CensusRequest{}); err == nil {
		d.Fleet = newFleetCard(census)
	} else {
		d.FleetError = con.inline(c, err)
	}
	// The runners service's statistics; a service without them (an older
	// version) leaves charts derived from the job list and the census.
	if charts, err := con.statsCharts(c); err == nil {
		d.Charts = charts
	} else if charts, err := con.jobCharts(c, time.Now()); err == nil {
		d.Charts = charts
		if d.Fleet != nil {
			d.Charts = append(d.Charts, fleetChart(d.Fleet))
		}
	} else {
		d.ChartsError = con.inline(c, err)
	}
	if jobs, err := call[runners.ListJobsResponse](c, con, runners.SubjectJobList, runners.ListJobsRequest{Limit: dashboardJobs}); err == nil {
		n := con.lookupNames(c)
		for _, j := range jobs.Items {
			d.Recent = append(d.Recent, n.named(newJobRow(j)))
		}
	} else {
		d.RecentError = con.inline(c, err)
	}
	con.show(c, http.StatusOK, "dashboard", page{Title: "Dashboard", Data: d})
}
