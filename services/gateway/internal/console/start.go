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

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// startForm holds what was typed into the start form.
type startForm struct {
	Package, Version, Environment, Runner, Labels, Parameters string
	Values                                                    map[string]string // declared parameters, by name
	Invalid                                                   string            // the parameter just refused, marked aria-invalid
}

var freshStartForm = startForm{Version: "latest", Environment: runners.EnvDevelopment, Parameters: "{}"}

// paramField is one declared parameter as a form field.
type paramField struct {
	runners.Parameter
	ID      string   // element id: jobs-start-param-<name>
	Invalid bool     // the value just sent was refused
	Value   string   // as typed, else the default
	Choices []string // enum values (and true/false for a boolean); nil: free text
}

// paramsBlock is the parameters part of a form that starts jobs (the start
// form, the schedule form): one field per declared parameter, or a JSON box
// when the version declares none. The template "params" renders it.
type paramsBlock struct {
	Prefix   string // element ids: <prefix>-params (fieldset), <prefix>-param-<name>, <prefix>-parameters (JSON box)
	Declared bool   // the chosen version declares its parameters: fields instead of the JSON box
	Params   []paramField
	JSON     string // the JSON box's text
}

type startData struct {
	Start        startForm
	StartKey     string // the Idempotency-Key: sent twice, the form starts one job
	Packages     []string
	Versions     []string // of Start.Package, newest first
	Environments []string
	Runners      []runnerChoice
	Params       paramsBlock
}

type runnerChoice struct{ ID, Name, Environment string }

// startPage is the start form (GET /jobs/new?package=&version=).
func (con *Console) startPage(c *gin.Context) {
	f := freshStartForm
	f.Package, f.Environment = c.Query("package"), cmpOr(c.Query("environment"), f.Environment)
	if v := c.Query("version"); v != "" {
		f.Version = v
	}
	con.showStart(c, http.StatusOK, "", f)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// showStart renders the start form with msg as its error.
func (con *Console) showStart(c *gin.Context, status int, msg string, f startForm) {
	d := startData{Start: f, StartKey: uuid.NewString(), Environments: runners.Environments, Packages: con.packageNames(c)}
	if f.Package == "" && len(d.Packages) > 0 {
		d.Start.Package = d.Packages[0]
	}
	if d.Start.Package != "" {
		if vs, err := call[runners.PackageVersions](c, con, runners.SubjectPackageVersions, runners.PackageVersionsRequest{Name: d.Start.Package}); err == nil {
			for _, v := range vs.Items {
				d.Versions = append(d.Versions, v.Version)
			}
		}
	}
	d.Params = con.paramsBlock(c, "jobs-start", d.Start.Package, d.Start.Version, f.Values, f.Invalid, f.Parameters)
	d.Runners = con.runnerChoices(c)
	con.show(c, status, "job_start", page{Title: "Start a job", Error: msg, Data: d})
}

// runnerChoices are the runners a form may target, by name.
func (con *Console) runnerChoices(c *gin.Context) []runnerChoice {
	var out []runnerChoice
	for _, r := range con.lookupNames(c).runners {
		out = append(out, runnerChoice{ID: r.ID, Name: r.Name, Environment: r.Environment})
	}
	slices.SortFunc(out, func(a, b runnerChoice) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// paramsBlock is the parameters part of a form for package@version: its
// declared parameters as fields (typed holds what was typed, invalid the one
// refused), else the JSON box holding jsonText.
func (con *Console) paramsBlock(c *gin.Context, prefix, pkg, version string, typed map[string]string, invalid, jsonText string) paramsBlock {
	b := paramsBlock{Prefix: prefix, JSON: jsonText}
	if pkg == "" {
		return b
	}
	if p, err := con.declared(c, pkg, version); err == nil && p.Parameters != nil {
		b.Declared = true
		for _, prm := range p.Parameters {
			pf := newParamField(prm, typed, prefix)
			pf.Invalid = prm.Name == invalid
			b.Params = append(b.Params, pf)
		}
	}
	return b
}

// declared is the package version (for its declared parameters).
func (con *Console) declared(c *gin.Context, name, version string) (runners.Package, error) {
	if version == "" {
		version = "latest"
	}
	return call[runners.Package](c, con, runners.SubjectPackageGet, runners.PackageRequest{Name: name, Version: version})
}

func newParamField(p runners.Parameter, typed map[string]string, prefix string) paramField {
	f := paramField{Parameter: p, ID: prefix + "-param-" + p.Name}
	if v, ok := typed[p.Name]; ok {
		f.Value = v
	} else if len(p.Default) > 0 {
		var s string
		if json.Unmarshal(p.Default, &s) == nil {
			f.Value = s
		} else {
			f.Value = string(p.Default)
		}
	}
	for _, e := range p.Enum {
		var s string
		if json.Unmarshal(e, &s) == nil {
			f.Choices = append(f.Choices, s)
		} else {
			f.Choices = append(f.Choices, string(e))
		}
	}
	if p.Type == runners.ParamBoolean && f.Choices == nil {
		f.Choices = []string{"true", "false"}
	}
	return f
}

// startJob creates a job from the start form and opens its page.
func (con *Console) startJob(c *gin.Context) {
	form := startForm{Package: strings.TrimSpace(c.PostForm("package")), Version: strings.TrimSpace(c.PostForm("version")),
		Environment: c.PostForm("environment"), Runner: c.PostForm("runner_id"), Labels: c.PostForm("labels"),
		Parameters: c.PostForm("parameters"), Values: map[string]string{}}
	req := runners.CreateJobRequest{Package: form.Package, Environment: form.Environment, RunnerID: form.Runner,
		Labels: splitLabels(form.Labels), IdempotencyKey: c.PostForm("idempotency_key")}
	if form.Version != "latest" {
		req.Version = form.Version
	}
	params, err := con.readParams(c, form.Package, form.Version, form.Values, &form.Invalid, form.Parameters)
	if err != nil {
		con.showStart(c, statusOf(err), con.inline(c, err), form)
		return
	}
	req.Parameters = params
	job, err := call[runners.Job](c, con, runners.SubjectJobCreate, req)
	if err != nil {
		msg := con.inline(c, err)
		form.Invalid = refusedParam(msg, form.Values)
		con.showStart(c, statusOf(err), msg, form)
		return
	}
	redirect(c, "/jobs/"+url.PathEscape(job.ID)+"?flash=job_started")
}

// readParams reads the parameters of a posted form that starts jobs of
// pkg@version: with the field declared=true, one field param.<name> per
// declared parameter (every value kept in values first, so a refusal shows
// the form as typed; *invalid names the one refused), else the JSON object
// jsonText. nil means none.
func (con *Console) readParams(c *gin.Context, pkg, version string, values map[string]string, invalid *string, jsonText string) (json.RawMessage, error) {
	if c.PostForm("declared") != "true" {
		raw := strings.TrimSpace(jsonText)
		if raw == "" {
			return nil, nil
		}
		var params map[string]any
		dec := json.NewDecoder(strings.NewReader(raw))
		if err := dec.Decode(&params); err != nil || dec.More() {
			return nil, errs.E(errs.InvalidArgument, "Parameters must be a JSON object, such as {\"name\": \"value\"}.")
		}
		if params == nil {
			return nil, nil // null is no parameters
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, []byte(raw)); err != nil {
			return nil, errs.E(errs.InvalidArgument, "Parameters must be a JSON object, such as {\"name\": \"value\"}.")
		}
		return buf.Bytes(), nil
	}
	p, err := con.declared(c, pkg, version)
	if err != nil {
		return nil, err
	}
	params := map[string]any{}
	for _, prm := range p.Parameters { // all kept first: a refusal shows the form as typed
		values[prm.Name] = strings.TrimSpace(c.PostForm("param." + prm.Name))
	}
	for _, prm := range p.Parameters {
		raw := values[prm.Name]
		if raw == "" {
			continue // the service applies the default, or refuses a missing required one
		}
		v, err := paramValue(prm, raw)
		if err != nil {
			*invalid = prm.Name
			return nil, err
		}
		params[prm.Name] = v
	}
	out, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode parameters: %w", err)
	}
	return out, nil
}

// refusedParam is the declared parameter a service's message names
// (`parameter "who": …`), "" when none of values is named.
func refusedParam(msg string, values map[string]string) string {
	for name := range values {
		if strings.Contains(msg, `parameter "`+name+`"`) {
			return name
		}
	}
	return ""
}

// paramValue reads a typed value of a declared parameter; the error names it.
func paramValue(p runners.Parameter, raw string) (any, error) {
	switch p.Type {
	case runners.ParamInteger:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return nil, errs.Ef(errs.InvalidArgument, "Parameter %s must be an integer, not %q.", p.Name, raw)
		}
		return n, nil
	case runners.ParamNumber:
		n, err := strconv.ParseFloat(raw, 64)
		if err != nil {
			return nil, errs.Ef(errs.InvalidArgument, "Parameter %s must be a number, not %q.", p.Name, raw)
		}
		return n, nil
	case runners.ParamBoolean:
		b, err := strconv.ParseBool(raw)
		if err != nil || (raw != "true" && raw != "false") {
			return nil, errs.Ef(errs.InvalidArgument, "Parameter %s must be true or false, not %q.", p.Name, raw)
		}
		return b, nil
	}
	return raw, nil
}
