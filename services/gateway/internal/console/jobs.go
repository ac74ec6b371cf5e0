package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// jobsPageSize is how many jobs one page of the list shows.
const jobsPageSize = 50

func init() {
	flashes["job_started"] = "Job started."
	flashes["job_cancel"] = "Cancel requested."
}

type jobsData struct {
	Rows         []jobRow
	Filter       listFilter
	Environments []string
	Statuses     []string
	Packages     []string // published package names (the filter's choices)
	Runners      []runners.Runner
	Next, First  string
	Live         bool   // a row shown is pending, claimed or running: app.js refreshes the table
	ScheduleName string // the name of the schedule filtered by, when the service knows it
}

// jobRow is one job with its cells formatted.
type jobRow struct {
	runners.Job
	Runner        string // the runner's id, "—" when none
	RunnerName    string // the runner's name, its id when unknown, "" when none
	CreatedByName string // the starter's email when known, else their id
	CreatedAt     string
	StartedAt     string
	FinishedAt    string
	ExitCode      string // "—" when unknown
	Error         string // "" when none
	Finished      bool
	Duration      string // "1 min 5 s"; "—" before it started
	StartISO      string // RFC 3339 start for app.js's live duration; "" before it started
	EndISO        string // RFC 3339 end; "" while it runs
	Schedule      string // the schedule that started it: its name, else "schedule <short id>"; "" when none
	ScheduledFor  string // the fire time it is for; "" when none (or a run now)
}

func newJobRow(j runners.Job) jobRow {
	return newJobRowAt(j, time.Now())
}

func newJobRowAt(j runners.Job, now time.Time) jobRow {
	row := jobRow{Job: j, Runner: none, CreatedAt: when(j.CreatedAt), StartedAt: when(j.StartedAt),
		FinishedAt: when(j.FinishedAt), ExitCode: none, Finished: runners.JobFinal(j.Status), Duration: none, CreatedByName: j.CreatedBy}
	if j.RunnerID != nil && *j.RunnerID != "" {
		row.Runner, row.RunnerName = *j.RunnerID, *j.RunnerID
	}
	if j.ExitCode != nil {
		row.ExitCode = strconv.Itoa(*j.ExitCode)
	}
	if j.ScheduleID != nil && *j.ScheduleID != "" {
		row.Schedule = "schedule " + short(*j.ScheduleID)
		if j.ScheduleName != nil && *j.ScheduleName != "" {
			row.Schedule = *j.ScheduleName
		}
	}
	if j.ScheduledFor != nil {
		row.ScheduledFor = when(j.ScheduledFor)
	}
	if j.Error != nil {
		row.Error = *j.Error
	}
	if j.StartedAt != nil {
		row.StartISO = j.StartedAt.UTC().Format(time.RFC3339)
		end := now
		if j.FinishedAt != nil {
			end = *j.FinishedAt
			row.EndISO = j.FinishedAt.UTC().Format(time.RFC3339)
		} else if row.Finished {
			end = *j.StartedAt
			row.EndISO = row.StartISO
		}
		row.Duration = duration(end.Sub(*j.StartedAt))
	}
	return row
}

// duration shows d as app.js does: "45 s", "3 min 05 s", "2 h 03 min".
func duration(d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600:
		return fmt.Sprintf("%d min %02d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min", s/3600, (s%3600)/60)
}

// live reports whether a job may still change.
func live(status string) bool { return !runners.JobFinal(status) }

func (con *Console) jobsPage(c *gin.Context) {
	f := listFilter{Status: c.Query("status"), Environment: c.Query("environment"), Runner: c.Query("runner"),
		Package: c.Query("package"), Since: c.Query("since"), Until: c.Query("until"), Schedule: c.Query("schedule_id")}
	cursor := c.Query("cursor")
	d := jobsData{Filter: f, Environments: runners.Environments, Statuses: runners.JobStatuses}
	since, err := parseUTC("since", f.Since)
	if err == nil {
		var until time.Time
		if until, err = parseUTC("until", f.Until); err == nil {
			err = con.listJobs(c, &d, cursor, since, until)
		}
	}
	status, msg := http.StatusOK, ""
	if err != nil {
		if !errs.Is(err, errs.InvalidArgument) {
			con.fail(c, err)
			return
		}
		status, msg = statusOf(err), con.inline(c, err)
	}
	n := con.lookupNames(c)
	for i := range d.Rows {
		d.Rows[i] = n.named(d.Rows[i])
		d.Live = d.Live || live(d.Rows[i].Status)
	}
	for _, r := range n.runners {
		d.Runners = append(d.Runners, r)
	}
	slices.SortFunc(d.Runners, func(a, b runners.Runner) int { return strings.Compare(a.Name, b.Name) })
	d.Packages = con.packageNames(c)
	if f.Schedule != "" {
		if s, err := call[runners.Schedule](c, con, runners.SubjectScheduleGet, runners.ScheduleRequest{ID: f.Schedule}); err == nil {
			d.ScheduleName = s.Name
		}
	}
	con.show(c, status, "jobs", page{Title: "Jobs", Error: msg, Data: d})
}

// listJobs reads one page of jobs, filtered by the service, into d.
func (con *Console) listJobs(c *gin.Context, d *jobsData, cursor string, since, until time.Time) error {
	f := d.Filter
	list, err := call[runners.ListJobsResponse](c, con, runners.SubjectJobList, runners.ListJobsRequest{
		Limit: jobsPageSize, Cursor: cursor, Status: f.Status, Environment: f.Environment, RunnerID: f.Runner,
		Package: f.Package, Since: since, Until: until, ScheduleID: f.Schedule})
	if err != nil {
		return err
	}
	for _, j := range list.Items {
		d.Rows = append(d.Rows, newJobRow(j))
	}
	if list.NextCursor != "" {
		d.Next = "/jobs?" + f.values("cursor", list.NextCursor).Encode()
	}
	if cursor != "" {
		d.First = strings.TrimSuffix("/jobs?"+f.values().Encode(), "?")
	}
	return nil
}

// packageNames are the published package names; nil when the service does not answer.
func (con *Console) packageNames(c *gin.Context) []string {
	var out []string
	if pk, err := call[runners.ListPackagesResponse](c, con, runners.SubjectPackageList,
		runners.ListPackagesRequest{Limit: 500}); err == nil {
		for _, p := range pk.Items {
			out = append(out, p.Name)
		}
	}
	return out
}

type jobData struct {
	jobRow
	Parameters string // indented JSON; "" when none
	Logs       []logRow
	After      int64 // the last log sequence number shown
	CanCancel  bool  // the signed-in role may cancel (the form is left out otherwise)
	CanRerun   bool  // … and start it again
	RerunKey   string
	History    []attemptRow // every claim, oldest first; nil when the service does not report them
	RerunOf    string
}

// attemptRow is one attempt of a job, formatted.
type attemptRow struct {
	runners.JobAttempt
	Runner   string // name, else id
	Started  string
	Ended    string
	Duration string
	Live     bool
}

func newAttemptRow(a runners.JobAttempt) attemptRow {
	row := attemptRow{JobAttempt: a, Runner: cmpOr(a.RunnerName, a.RunnerID), Started: when(a.StartedAt), Ended: when(a.EndedAt), Duration: none}
	switch {
	case a.DurationSeconds != nil:
		row.Duration = duration(time.Duration(*a.DurationSeconds * float64(time.Second)))
	case a.EndedAt != nil:
		row.Duration = duration(a.EndedAt.Sub(a.StartedAt))
	default:
		row.Live = true
		row.Duration = duration(time.Since(a.StartedAt))
	}
	return row
}

// logRow is one log line as the page and app.js show it.
type logRow struct {
	runners.LogLine
	At string // "15:04:05"
}

func newLogRow(l runners.LogLine) logRow {
	return logRow{LogLine: l, At: l.TS.UTC().Format(time.TimeOnly)}
}

// jobPage shows one job with its logs (GET /jobs/:id).
func (con *Console) jobPage(c *gin.Context) {
	con.showJob(c, http.StatusOK, "")
}

func (con *Console) showJob(c *gin.Context, status int, msg string) {
	id := c.Param("id")
	j, err := call[runners.Job](c, con, runners.SubjectJobGet, runners.JobRequest{ID: id})
	if err != nil {
		con.fail(c, err)
		return
	}
	n := con.lookupNames(c)
	d := jobData{jobRow: n.named(newJobRow(j)), CanCancel: con.may(c, http.MethodPost, "/jobs/:id/cancel"),
		CanRerun: con.may(c, http.MethodPost, "/jobs/:id/rerun"), RerunKey: uuid.NewString()}
	if j.AttemptHistory != nil {
		for _, a := range *j.AttemptHistory {
			d.History = append(d.History, newAttemptRow(a))
		}
	}
	if j.RerunOf != nil {
		d.RerunOf = *j.RerunOf
	}
	if len(j.Parameters) > 0 && string(j.Parameters) != "null" {
		var buf bytes.Buffer
		if json.Indent(&buf, j.Parameters, "", "  ") == nil {
			d.Parameters = buf.String()
		}
	}
	// The logs so far; app.js follows them from After. A failure here only
	// leaves the page to the script.
	if logs, err := call[runners.JobLogs](c, con, runners.SubjectJobLogs, runners.JobLogsRequest{ID: j.ID}); err == nil {
		for _, l := range logs.Lines {
			d.Logs = append(d.Logs, newLogRow(l))
			d.After = l.Seq
		}
	} else {
		con.inline(c, err)
	}
	con.show(c, status, "job", page{Title: "Job " + short(j.ID), Error: msg, Data: d})
}

func short(s string) string { return s[:min(len(s), 12)] }

// cancelJob asks the service to cancel the job, then shows it again.
func (con *Console) cancelJob(c *gin.Context) {
	id := c.Param("id")
	if _, err := call[runners.Job](c, con, runners.SubjectJobCancel, runners.JobRequest{ID: id}); err != nil {
		if errs.Is(err, errs.NotFound) {
			con.fail(c, err)
			return
		}
		con.showJob(c, statusOf(err), con.inline(c, err))
		return
	}
	redirect(c, "/jobs/"+url.PathEscape(id)+"?flash=job_cancel")
}

// may reports whether the signed-in user's role reaches the route's least role.
func (con *Console) may(c *gin.Context, method, path string) bool {
	p := con.principal(c)
	for _, r := range con.table {
		if r.method == method && r.path == path {
			return r.access == anyone || (p != nil && identity.RoleAtLeast(p.User.Role, r.access))
		}
	}
	return false
}

// rerunJob asks the runners service to start a new job like this one (same
// package version, environment, runner or labels, parameters, attempts and
// timeout), then opens it.
func (con *Console) rerunJob(c *gin.Context) {
	job, err := call[runners.Job](c, con, runners.SubjectJobRerun,
		runners.RerunJobRequest{ID: c.Param("id"), IdempotencyKey: c.PostForm("idempotency_key")})
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			con.fail(c, err)
			return
		}
		con.showJob(c, statusOf(err), con.inline(c, err))
		return
	}
	redirect(c, "/jobs/"+url.PathEscape(job.ID)+"?flash=job_started")
}
