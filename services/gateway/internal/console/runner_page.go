package console

import (
	"net/http"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/gateway/internal/console/svgchart"
	"github.com/gin-gonic/gin"
)

// runnerJobs is how many recent jobs the runner page shows.
const runnerJobs = 20

type runnerData struct {
	runnerRow
	Jobs      []jobRow
	JobsError string
	Current   []jobRow // claimed or running on it now
	Charts    []svgchart.Chart
	ChartNote string // why there are no charts, when there are none
	Admin     bool
}

// runnerPage shows one runner: status, metrics, its current and recent jobs
// (GET /runners/:id).
func (con *Console) runnerPage(c *gin.Context) {
	r, err := call[runners.Runner](c, con, runners.SubjectGet, runners.GetRequest{ID: c.Param("id")})
	if err != nil {
		con.fail(c, err)
		return
	}
	d := runnerData{runnerRow: newRunnerRow(r, time.Now()), Admin: con.isAdmin(c)}
	n := con.lookupNames(c)
	n.runners[r.ID] = r
	if list, err := call[runners.ListJobsResponse](c, con, runners.SubjectJobList,
		runners.ListJobsRequest{Limit: runnerJobs, RunnerID: r.ID}); err == nil {
		for _, j := range list.Items {
			row := n.named(newJobRow(j))
			if j.Status == runners.JobClaimed || j.Status == runners.JobRunning {
				d.Current = append(d.Current, row)
			}
			d.Jobs = append(d.Jobs, row)
		}
	} else {
		d.JobsError = con.inline(c, err)
	}
	d.Charts, d.ChartNote = con.runnerCharts(c, r)
	con.show(c, http.StatusOK, "runner", page{Title: "Runner " + r.Name, Data: d})
}
