package console

import (
	"fmt"
	"slices"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/services/gateway/internal/console/svgchart"
	"github.com/gin-gonic/gin"
)

// dashboardHours is the span of the dashboard's charts.
const dashboardHours = 24

// hourLabels are the last n whole hours ending with the current one, as "15:00" (UTC).
func hourLabels(now time.Time, n int) ([]time.Time, []string) {
	end := now.UTC().Truncate(time.Hour)
	hours, labels := make([]time.Time, n), make([]string, n)
	for i := range n {
		hours[i] = end.Add(time.Duration(i-n+1) * time.Hour)
		labels[i] = hours[i].Format("15:04")
	}
	return hours, labels
}

// jobCharts derives the jobs charts from the job list: jobs finished per
// hour by outcome over the last 24 hours (from the newest 1,000 jobs) and
// the jobs waiting by environment.
func (con *Console) jobCharts(c *gin.Context, now time.Time) ([]svgchart.Chart, error) {
	hours, labels := hourLabels(now, dashboardHours)
	outcomes := []string{runners.JobSucceeded, runners.JobFailed, runners.JobCanceled}
	done := make([]svgchart.Series, len(outcomes))
	for i, o := range outcomes {
		done[i] = svgchart.Series{Name: o, Values: make([]float64, len(hours))}
	}
	waiting := svgchart.Series{Name: "waiting", Values: make([]float64, len(runners.Environments))}
	since := hours[0]
	cursor := ""
	for range 2 {
		list, err := call[runners.ListJobsResponse](c, con, runners.SubjectJobList, runners.ListJobsRequest{Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		old := false
		for _, j := range list.Items {
			if j.Status == runners.JobPending {
				if e := slices.Index(runners.Environments, j.Environment); e >= 0 {
					waiting.Values[e]++
				}
			}
			if j.FinishedAt != nil && !j.FinishedAt.Before(since) {
				h := int(j.FinishedAt.UTC().Truncate(time.Hour).Sub(since) / time.Hour)
				if o := slices.Index(outcomes, j.Status); o >= 0 && h >= 0 && h < len(hours) {
					done[o].Values[h]++
				}
			}
			old = old || j.CreatedAt.Before(since.Add(-24*time.Hour))
		}
		if cursor = list.NextCursor; cursor == "" || old {
			break
		}
	}
	return []svgchart.Chart{
		{ID: "chart-finished", Kind: svgchart.Bars, Title: "Jobs finished per hour by outcome, last 24 hours (UTC)",
			Desc:   fmt.Sprintf("Stacked bars: succeeded, failed and canceled jobs per hour, %s to %s UTC.", labels[0], labels[len(labels)-1]),
			Labels: labels, Series: done},
		{ID: "chart-waiting", Kind: svgchart.Bars, Title: "Jobs waiting by environment",
			Desc: "Bars: jobs pending now in each environment.", LabelHeader: "Environment",
			Labels: runners.Environments, Series: []svgchart.Series{waiting}},
	}, nil
}

// fleetChart is the runners online (and busy) now by environment, from the census.
func fleetChart(card *fleetCard) svgchart.Chart {
	ch := svgchart.Chart{ID: "chart-online", Kind: svgchart.Bars, Title: "Runners online by environment now",
		Desc: "Stacked bars: runners online (idle) and busy in each environment.", LabelHeader: "Environment"}
	online, busy := svgchart.Series{Name: "online"}, svgchart.Series{Name: "busy"}
	io, ib := slices.Index(card.Statuses, runners.StatusOnline), slices.Index(card.Statuses, runners.StatusBusy)
	for _, r := range card.Rows {
		ch.Labels = append(ch.Labels, r.Environment)
		online.Values = append(online.Values, float64(at(r.Counts, io)))
		busy.Values = append(busy.Values, float64(at(r.Counts, ib)))
	}
	ch.Series = []svgchart.Series{online, busy}
	return ch
}

func at(xs []int, i int) int {
	if i < 0 || i >= len(xs) {
		return 0
	}
	return xs[i]
}

// runnerCharts are the runner's metrics history (CPU, memory, free disk);
// until the runners service keeps a history, the page says so.
func (con *Console) runnerCharts(_ *gin.Context, _ runners.Runner) ([]svgchart.Chart, string) {
	return nil, "The metrics history is not available from the runners service yet; the current metrics are above."
}
