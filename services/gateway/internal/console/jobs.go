package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	Packages     []string // names offered by the start form's package field
	Next, First  string
	Start        startForm
	StartKey     string // the start form's Idempotency-Key: sent twice, it starts one job
}

// startForm holds what was typed into the start form.
type startForm struct {
	Package, Version, Environment, Parameters string
}

var freshStartForm = startForm{Version: "latest", Environment: runners.EnvDevelopment, Parameters: "{}"}

// jobRow is one job with its cells formatted.
type jobRow struct {
	runners.Job
	Runner     string // the runner's id, "—" when none
	CreatedAt  string
	StartedAt  string
	FinishedAt string
	ExitCode   string // "—" when unknown
	Error      string // "" when none
	Finished   bool
}

func finished(status string) bool {
	return status == runners.JobSucceeded || status == runners.JobFailed || status == runners.JobCanceled
}

func newJobRow(j runners.Job) jobRow {
	row := jobRow{Job: j, Runner: none, CreatedAt: when(j.CreatedAt), StartedAt: when(j.StartedAt),
		FinishedAt: when(j.FinishedAt), ExitCode: none, Finished: finished(j.Status)}
	if j.RunnerID != nil && *j.RunnerID != "" {
		row.Runner = *j.RunnerID
	}
	if j.ExitCode != nil {
		row.ExitCode = strconv.Itoa(*j.ExitCode)
	}
	if j.Error != nil {
		row.Error = *j.Error
	}
	return row
}

func (con *Console) jobsPage(c *gin.Context) {
	con.showJobs(c, http.StatusOK, "", freshStartForm)
}

// showJobs renders a page of jobs, with msg as the error of the start form
// just sent. A filter or cursor the service refuses is shown inline too.
func (con *Console) showJobs(c *gin.Context, status int, msg string, form startForm) {
	f := listFilter{Status: c.Query("status"), Environment: c.Query("environment")}
	cursor := c.Query("cursor")
	d := jobsData{Filter: f, Environments: runners.Environments, Statuses: runners.JobStatuses, Start: form, StartKey: uuid.NewString()}
	list, err := call[runners.ListJobsResponse](c, con, runners.SubjectJobList,
		runners.ListJobsRequest{Limit: jobsPageSize, Cursor: cursor, Status: f.Status, Environment: f.Environment})
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
	for _, j := range list.Items {
		d.Rows = append(d.Rows, newJobRow(j))
	}
	if list.NextCursor != "" {
		d.Next = "/jobs?" + f.values("cursor", list.NextCursor).Encode()
	}
	if cursor != "" {
		d.First = strings.TrimSuffix("/jobs?"+f.values().Encode(), "?")
	}
	// The package names only help typing; the form works without them.
	if pk, err := call[runners.ListPackagesResponse](c, con, runners.SubjectPackageList,
		runners.ListPackagesRequest{Limit: 500}); err == nil {
		for _, p := range pk.Items {
			d.Packages = append(d.Packages, p.Name)
		}
	}
	con.show(c, status, "jobs", page{Title: "Jobs", Error: msg, Data: d})
}

// startJob creates a job from the start form and opens its page.
func (con *Console) startJob(c *gin.Context) {
	form := startForm{Package: strings.TrimSpace(c.PostForm("package")), Version: strings.TrimSpace(c.PostForm("version")),
		Environment: c.PostForm("environment"), Parameters: c.PostForm("parameters")}
	req := runners.CreateJobRequest{Package: form.Package, Environment: form.Environment,
		IdempotencyKey: c.PostForm("idempotency_key")}
	if form.Version != "latest" {
		req.Version = form.Version
	}
	if raw := strings.TrimSpace(form.Parameters); raw != "" {
		var params map[string]any
		dec := json.NewDecoder(strings.NewReader(raw))
		if err := dec.Decode(&params); err != nil || dec.More() {
			con.showJobs(c, http.StatusBadRequest, "Parameters must be a JSON object, such as {\"name\": \"value\"}.", form)
			return
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(raw)); err == nil && params != nil {
			req.Parameters = buf.Bytes()
		}
	}
	job, err := call[runners.Job](c, con, runners.SubjectJobCreate, req)
	if err != nil {
		con.showJobs(c, statusOf(err), con.inline(c, err), form)
		return
	}
	redirect(c, "/jobs/"+url.PathEscape(job.ID)+"?flash=job_started")
}

type jobData struct {
	jobRow
	Parameters string // indented JSON; "" when none
	Logs       []logRow
	After      int64 // the last log sequence number shown
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
	d := jobData{jobRow: newJobRow(j)}
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
