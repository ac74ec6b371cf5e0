package console

import (
	"fmt"
	"math"
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

// runnerCharts are the runner's metrics history over 24 hours (CPU and memory
// per minute, average and maximum; the least free disk), from the runners service.
func (con *Console) runnerCharts(c *gin.Context, r runners.Runner) ([]svgchart.Chart, string) {
	h, err := call[runners.RunnerMetricsHistory](c, con, runners.SubjectRunnerMetrics,
		runners.RunnerMetricsRequest{ID: r.ID, Hours: runners.MetricsHistoryHours})
	if err != nil {
		return nil, "The metrics history could not be read: " + con.inline(c, err)
	}
	if len(h.Points) == 0 {
		return nil, "No heartbeat with metrics in the last 24 hours."
	}
	labels, cpuAvg, cpuMax, memAvg, memMax, disk := metricsSeries(h.Points)
	n := len(labels)
	span := fmt.Sprintf("%s to %s UTC", labels[0], labels[n-1])
	return []svgchart.Chart{
		{ID: "chart-cpu", Kind: svgchart.Lines, Unit: "%", Max: 100, LabelHeader: "Time (UTC)", Title: "CPU, last 24 hours",
			Desc: "Lines: average and highest CPU use, " + span + "; a gap is a time without heartbeats.", Labels: labels,
			Series: []svgchart.Series{{Name: "average", Values: cpuAvg}, {Name: "highest", Values: cpuMax}}},
		{ID: "chart-memory", Kind: svgchart.Lines, Unit: "%", Max: 100, LabelHeader: "Time (UTC)", Title: "Memory, last 24 hours",
			Desc: "Lines: average and highest memory use, " + span + "; a gap is a time without heartbeats.", Labels: labels,
			Series: []svgchart.Series{{Name: "average", Values: memAvg}, {Name: "highest", Values: memMax}}},
		{ID: "chart-disk", Kind: svgchart.Lines, Unit: "GiB", LabelHeader: "Time (UTC)", Title: "Free disk, last 24 hours",
			Desc: "Line: the least free disk space in GiB, " + span + "; a gap is a time without heartbeats.", Labels: labels,
			Series: []svgchart.Series{{Name: "free disk", Values: disk}}},
	}, ""
}

// statsCharts are the dashboard's charts from the runners service's
// statistics over the last 24 hours: jobs finished per hour by outcome, jobs
// waiting by environment, runners online by environment per hour and the
// pickup latency's 95th percentile per hour.
func (con *Console) statsCharts(c *gin.Context) ([]svgchart.Chart, error) {
	st, err := call[runners.DashboardStats](c, con, runners.SubjectDashboardStats, runners.DashboardStatsRequest{Hours: dashboardHours})
	if err != nil {
		return nil, err
	}
	hours := max(st.Hours, 1)
	from := st.From.UTC().Truncate(time.Hour)
	labels := make([]string, hours)
	for i := range labels {
		labels[i] = from.Add(time.Duration(i) * time.Hour).Format("15:04")
	}
	slot := func(t time.Time) int {
		i := int(t.UTC().Sub(from) / time.Hour)
		if i < 0 || i >= hours {
			return -1
		}
		return i
	}
	succ, fail, canc := make([]float64, hours), make([]float64, hours), make([]float64, hours)
	for _, f := range st.JobsFinished {
		if i := slot(f.Hour); i >= 0 {
			succ[i], fail[i], canc[i] = float64(f.Succeeded), float64(f.Failed), float64(f.Canceled)
		}
	}
	var envs []string
	var waiting []float64
	for _, w := range st.JobsWaiting {
		envs = append(envs, w.Environment)
		waiting = append(waiting, float64(w.Jobs))
	}
	online := map[string][]float64{}
	for _, env := range runners.Environments {
		online[env] = make([]float64, hours)
	}
	for _, o := range st.RunnersOnline {
		if _, ok := online[o.Environment]; !ok {
			online[o.Environment] = make([]float64, hours)
		}
		if i := slot(o.Hour); i >= 0 {
			online[o.Environment][i] = math.Round(o.Avg*10) / 10
		}
	}
	var onlineSeries []svgchart.Series
	for _, env := range runners.Environments {
		onlineSeries = append(onlineSeries, svgchart.Series{Name: env, Values: online[env]})
	}
	p95 := make([]float64, hours)
	for i := range p95 {
		p95[i] = math.NaN()
	}
	for _, p := range st.PickupLatency {
		if i := slot(p.Hour); i >= 0 {
			p95[i] = math.Round(p.P95Seconds*10) / 10
		}
	}
	span := fmt.Sprintf("%s to %s UTC", labels[0], from.Add(time.Duration(hours)*time.Hour).Format("15:04"))
	return []svgchart.Chart{
		{ID: "chart-finished", Kind: svgchart.Bars, Title: "Jobs finished per hour by outcome, last 24 hours",
			Desc: "Stacked bars: succeeded, failed and canceled jobs per hour, " + span + ".", Labels: labels,
			Series: []svgchart.Series{{Name: "succeeded", Values: succ}, {Name: "failed", Values: fail}, {Name: "canceled", Values: canc}}},
		{ID: "chart-waiting", Kind: svgchart.Bars, Title: "Jobs waiting by environment", LabelHeader: "Environment",
			Desc: "Bars: jobs pending now in each environment.", Labels: envs, Series: []svgchart.Series{{Name: "waiting", Values: waiting}}},
		{ID: "chart-online", Kind: svgchart.Lines, Title: "Runners online by environment, last 24 hours",
			Desc:   "Lines: the average number of runners online (idle or busy) per hour in each environment, " + span + ".",
			Labels: labels, Series: onlineSeries},
		{ID: "chart-pickup", Kind: svgchart.Lines, Unit: "s", Title: "Pickup latency (95th percentile) per hour",
			Desc:   "Line: 95% of the jobs first claimed in each hour waited at most this many seconds from creation, " + span + "; hours without a claim have no point.",
			Labels: labels, Series: []svgchart.Series{{Name: "p95 pickup", Values: p95}}},
	}, nil
}

// metricsSeries puts the per-minute points on a continuous time axis: one
// slot a minute over up to 3 hours, else one every 10 minutes (averages of
// the averages, the highest maxima, the least free disk); a slot without a
// heartbeat is NaN, drawn as a gap and shown as "—" in the table.
func metricsSeries(points []runners.MetricsPoint) (labels []string, cpuAvg, cpuMax, memAvg, memMax, disk []float64) {
	first, last := points[0].Minute.UTC(), points[len(points)-1].Minute.UTC()
	slot := time.Minute
	if last.Sub(first) > 3*time.Hour {
		slot = 10 * time.Minute
	}
	first = first.Truncate(slot)
	n := int(last.Sub(first)/slot) + 1
	labels = make([]string, n)
	cpuAvg, cpuMax, memAvg, memMax, disk = nans(n), nans(n), nans(n), nans(n), nans(n)
	counts := make([]float64, n)
	for i := range labels {
		labels[i] = first.Add(time.Duration(i) * slot).Format("15:04")
	}
	for _, p := range points {
		i := int(p.Minute.UTC().Sub(first) / slot)
		if i < 0 || i >= n {
			continue
		}
		if counts[i] == 0 {
			cpuAvg[i], cpuMax[i], memAvg[i], memMax[i], disk[i] = 0, 0, 0, 0, math.Inf(1)
		}
		counts[i]++
		cpuAvg[i] += p.CPUPercentAvg
		memAvg[i] += p.MemoryPercentAvg
		cpuMax[i] = math.Max(cpuMax[i], p.CPUPercentMax)
		memMax[i] = math.Max(memMax[i], p.MemoryPercentMax)
		disk[i] = math.Min(disk[i], float64(p.DiskFreeBytesMin)/(1<<30))
	}
	for i, c := range counts {
		if c > 0 {
			cpuAvg[i], memAvg[i] = round1(cpuAvg[i]/c), round1(memAvg[i]/c)
			cpuMax[i], memMax[i], disk[i] = round1(cpuMax[i]), round1(memMax[i]), round1(disk[i])
		}
	}
	return labels, cpuAvg, cpuMax, memAvg, memMax, disk
}

func nans(n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = math.NaN()
	}
	return v
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
