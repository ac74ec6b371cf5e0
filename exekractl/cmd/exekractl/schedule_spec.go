package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// specFlags are the flags of schedule create and update. Only the flags
// given change the spec they are applied to.
type specFlags struct {
	set                                          map[string]bool
	name, description, pkg, version, env, runner string
	labels, params, calendars                    stringList
	paramsFile, timeout, fromFile                string
	maxAttempts                                  int
	cron, every, timeZone, start, end            string
	concurrency, misfire                         string
	paused                                       bool
}

func addSpecFlags(fs *flag.FlagSet) *specFlags {
	f := &specFlags{}
	fs.StringVar(&f.fromFile, "from-file", "", "JSON file of the whole spec (the API's ScheduleSpec); the other flags given override it")
	fs.StringVar(&f.name, "name", "", "schedule name (unique)")
	fs.StringVar(&f.description, "description", "", "free text")
	fs.StringVar(&f.pkg, "package", "", "package name")
	fs.StringVar(&f.version, "version", "", `package version; "latest" (the default) resolves to the newest at each fire`)
	fs.StringVar(&f.env, "environment", "", "environment: "+strings.Join(runners.Environments, ", "))
	fs.StringVar(&f.runner, "runner", "", `run on this runner only (id; "" clears it)`)
	fs.Var(&f.labels, "label", `runner label the jobs need (repeatable; replaces the labels; --label "" clears them)`)
	fs.Var(&f.params, "param", "parameter name=value (repeatable; overrides --params-file and, on update, the schedule's). "+
		"Typed (integer, number, boolean) when the package version declares the parameter's type; otherwise a string")
	fs.StringVar(&f.paramsFile, "params-file", "", "JSON object of parameters (replaces the schedule's)")
	fs.IntVar(&f.maxAttempts, "max-attempts", 0, "attempts per job when its runner is lost (default 1)")
	fs.StringVar(&f.timeout, "timeout", "", "stop each job after this long: a duration (90m) or seconds (default 1h)")
	fs.StringVar(&f.cron, "cron", "", `cron expression read in --time-zone: 5 fields "min hour dom month dow", 6 with seconds first, or @hourly, @daily, @weekly, @monthly, @yearly`)
	fs.StringVar(&f.every, "every", "", "fire at this interval of real time: a duration (15m, 1h30m) or seconds; counts from --start")
	fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone the cron expression is read in (default UTC)")
	fs.StringVar(&f.start, "start", "", `first instant it may fire (RFC 3339; "" clears it)`)
	fs.StringVar(&f.end, "end", "", `last instant it may fire (RFC 3339; "" clears it)`)
	fs.Var(&f.calendars, "calendar", `calendar of non-working days to skip, by id or name (repeatable; replaces the calendars; --calendar "" clears them)`)
	fs.StringVar(&f.concurrency, "concurrency", "", "while the previous job is live: "+strings.Join(runners.ConcurrencyPolicies, ", ")+" (default skip)")
	fs.StringVar(&f.misfire, "misfire", "", "fire times missed while the Hub was down: "+strings.Join(runners.MisfirePolicies, ", ")+" (default fire_once)")
	fs.BoolVar(&f.paused, "paused", false, "create it paused (update: pause it)")
	return f
}

// seconds parses a duration (90m) or a whole number of seconds.
func seconds(flagName, v string) (int, error) {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 {
			return 0, fmt.Errorf("--%s must be positive", flagName)
		}
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("--%s %q is neither a duration (90m, 1h30m) nor a number of seconds", flagName, v)
	}
	if d < time.Second || d%time.Second != 0 {
		return 0, fmt.Errorf("--%s %q must be a positive whole number of seconds", flagName, v)
	}
	return int(d / time.Second), nil
}

// nonEmpty drops the empty values (so that --label "" clears a list); nil when none are left.
func nonEmpty(l []string) []string {
	var out []string
	for _, v := range l {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// readSpecFile reads a ScheduleSpec from a JSON file, refusing unknown fields.
func readSpecFile(path string) (runners.ScheduleSpec, error) {
	var spec runners.ScheduleSpec
	data, err := os.ReadFile(path)
	if err != nil {
		return spec, fmt.Errorf("--from-file: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return spec, fmt.Errorf("--from-file %s: not a schedule spec: %w", path, err)
	}
	return spec, nil
}

// specOf is the spec of an existing schedule, for an update to change.
// Its state is kept by the Hub unless --paused is given.
func specOf(s runners.Schedule) runners.ScheduleSpec {
	spec := runners.ScheduleSpec{
		Name: s.Name, Description: s.Description, Package: s.Package, Version: s.Version,
		Environment: s.Environment, Labels: s.Labels, MaxAttempts: s.MaxAttempts, TimeoutSeconds: s.TimeoutSeconds,
		Cron: s.Cron, IntervalSeconds: s.IntervalSeconds, TimeZone: s.TimeZone, StartAt: s.StartAt, EndAt: s.EndAt,
		CalendarIDs: s.CalendarIDs, Concurrency: s.Concurrency, Misfire: s.Misfire,
	}
	if s.RunnerID != nil {
		spec.RunnerID = *s.RunnerID
	}
	if p := bytes.TrimSpace(s.Parameters); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		spec.Parameters = s.Parameters
	}
	return spec
}

// apply changes spec by the flags given. paramTypes maps a declared
// parameter to its type (nil: every --param is a string); calendar ids
// are resolved later (resolveCalendars).
func (f *specFlags) apply(spec *runners.ScheduleSpec, paramTypes map[string]string) error {
	var err error
	str := map[string]*string{"name": &spec.Name, "description": &spec.Description, "package": &spec.Package,
		"version": &spec.Version, "runner": &spec.RunnerID, "time-zone": &spec.TimeZone}
	val := map[string]string{"name": f.name, "description": f.description, "package": f.pkg,
		"version": f.version, "runner": f.runner, "time-zone": f.timeZone}
	for k, p := range str {
		if f.set[k] {
			*p = strings.TrimSpace(val[k])
		}
	}
	if f.set["environment"] {
		if spec.Environment, err = parseEnvironment(f.env); err != nil {
			return err
		}
	}
	if f.set["label"] {
		spec.Labels = nonEmpty(f.labels)
	}
	if f.set["max-attempts"] {
		if f.maxAttempts < 0 {
			return errors.New("--max-attempts must not be negative")
		}
		spec.MaxAttempts = f.maxAttempts
	}
	if f.set["timeout"] {
		if spec.TimeoutSeconds, err = seconds("timeout", f.timeout); err != nil {
			return err
		}
	}
	switch {
	case f.set["cron"] && f.set["every"]:
		return errors.New("give --cron or --every, not both")
	case f.set["cron"]:
		if strings.TrimSpace(f.cron) == "" {
			return errors.New("--cron must not be empty")
		}
		spec.Cron, spec.IntervalSeconds = strings.TrimSpace(f.cron), 0
	case f.set["every"]:
		if spec.IntervalSeconds, err = seconds("every", f.every); err != nil {
			return err
		}
		spec.Cron = ""
	}
	for name, dst := range map[string]**time.Time{"start": &spec.StartAt, "end": &spec.EndAt} {
		if !f.set[name] {
			continue
		}
		v := map[string]string{"start": f.start, "end": f.end}[name]
		if *dst, err = parseTimeFlag(name, v); err != nil {
			return err
		}
	}
	if f.set["concurrency"] {
		if !slices.Contains(runners.ConcurrencyPolicies, f.concurrency) {
			return fmt.Errorf("--concurrency %q is not one of %s", f.concurrency, strings.Join(runners.ConcurrencyPolicies, ", "))
		}
		spec.Concurrency = f.concurrency
	}
	if f.set["misfire"] {
		if !slices.Contains(runners.MisfirePolicies, f.misfire) {
			return fmt.Errorf("--misfire %q is not one of %s", f.misfire, strings.Join(runners.MisfirePolicies, ", "))
		}
		spec.Misfire = f.misfire
	}
	if f.set["paused"] {
		spec.Paused = f.paused
	}
	if f.set["params-file"] || f.set["param"] {
		if spec.Parameters, err = f.mergeParams(spec.Parameters, paramTypes); err != nil {
			return err
		}
	}
	return nil
}

// mergeParams returns the parameters: the --params-file object (or base),
// then each --param, typed by paramTypes; nil when there are none.
func (f *specFlags) mergeParams(base json.RawMessage, paramTypes map[string]string) (json.RawMessage, error) {
	params := map[string]json.RawMessage{}
	src, what := []byte(base), "the schedule's parameters"
	if f.paramsFile != "" {
		data, err := os.ReadFile(f.paramsFile)
		if err != nil {
			return nil, fmt.Errorf("--params-file: %w", err)
		}
		src, what = data, "--params-file "+f.paramsFile
	}
	if t := bytes.TrimSpace(src); len(t) > 0 && !bytes.Equal(t, []byte("null")) {
		if err := json.Unmarshal(t, &params); err != nil || params == nil {
			return nil, fmt.Errorf("%s must hold a JSON object", what)
		}
	}
	for _, p := range f.params {
		k, v, ok := strings.Cut(p, "=")
		if k = strings.TrimSpace(k); !ok || k == "" {
			return nil, fmt.Errorf("--param %q must be name=value", p)
		}
		raw, err := typedParam(k, v, paramTypes[k])
		if err != nil {
			return nil, err
		}
		params[k] = raw
	}
	if len(params) == 0 {
		return nil, nil
	}
	return json.Marshal(params)
}

// typedParam is value v of parameter k as JSON of type typ ("" or string: a string).
func typedParam(k, v, typ string) (json.RawMessage, error) {
	bad := func() error { return fmt.Errorf("--param %s=%q: the package declares %s as %s", k, v, k, article(typ)) }
	switch typ {
	case runners.ParamInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return nil, bad()
		}
		return json.Marshal(n)
	case runners.ParamNumber:
		n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return nil, bad()
		}
		return json.Marshal(n)
	case runners.ParamBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, bad()
		}
		return json.Marshal(b)
	}
	return json.Marshal(v)
}

func article(typ string) string {
	if typ == runners.ParamInteger {
		return "an integer"
	}
	return "a " + typ
}

// paramTypes fetches the declared parameter types of package pkg at
// version ("" or latest: the newest). When the package cannot be read or
// declares nothing it returns nil: the values go as strings and the Hub
// judges them.
func paramTypes(c *hubclient.Client, pkg, version string) map[string]string {
	var vs runners.PackageVersions
	if pkg == "" || c.JSON("GET", "/api/v1/packages/"+url.PathEscape(pkg), nil, &vs) != nil {
		return nil
	}
	for _, p := range vs.Items {
		if version == "" || version == "latest" || p.Version == version {
			if p.Parameters == nil {
				return nil
			}
			types := map[string]string{}
			for _, d := range p.Parameters {
				types[d.Name] = d.Type
			}
			return types
		}
	}
	return nil
}

// resolveCalendars turns calendar ids or names into ids, by the list of calendars.
func resolveCalendars(c *hubclient.Client, refs []string) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	cals, err := listAll[runners.Calendar](c, runners.PathCalendars, 0)
	if err != nil {
		return nil, hubErr("list calendars", err)
	}
	ids := make([]string, 0, len(refs))
	for _, ref := range refs {
		cal, err := findCalendar(cals, ref)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids, cal.ID) {
			ids = append(ids, cal.ID)
		}
	}
	return ids, nil
}

// findCalendar finds ref among cals by id, else by name.
func findCalendar(cals []runners.Calendar, ref string) (runners.Calendar, error) {
	for _, c := range cals {
		if c.ID == ref {
			return c, nil
		}
	}
	for _, c := range cals {
		if c.Name == ref {
			return c, nil
		}
	}
	return runners.Calendar{}, fmt.Errorf("no calendar has the id or name %q (exekractl calendar list shows them)", ref)
}

// checkSpec refuses a spec the Hub would refuse for a missing field, with
// the flag to give.
func checkSpec(spec runners.ScheduleSpec) error {
	var missing []string
	for _, m := range []struct{ v, flag string }{{spec.Name, "--name"}, {spec.Package, "--package"}, {spec.Environment, "--environment"}} {
		if m.v == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s required", strings.Join(missing, ", "))
	}
	if (spec.Cron == "") == (spec.IntervalSeconds == 0) {
		return errors.New("give exactly one of --cron and --every")
	}
	if spec.StartAt != nil && spec.EndAt != nil && spec.EndAt.Before(*spec.StartAt) {
		return errors.New("--end must not be before --start")
	}
	return nil
}

const scheduleWriteUsage = "exekractl schedule create --name N --package P --environment E (--cron EXPR | --every DURATION) " +
	"[--version V] [--runner ID] [--label L]... [--param k=v]... [--params-file F] [--max-attempts N] [--timeout D] " +
	"[--time-zone TZ] [--start T] [--end T] [--calendar ID_OR_NAME]... [--concurrency skip|queue|allow] " +
	"[--misfire fire_once|skip] [--paused] [--from-file spec.json] [--json]\n" +
	"       exekractl schedule update ID [the same flags: only those given change the schedule]"

// scheduleWrite creates a schedule, or updates one: it reads the schedule,
// applies the flags given and PUTs the whole spec.
func scheduleWrite(sub string, args []string, stdout io.Writer) error {
	cf := newCmdFlags("schedule "+sub, "DEVELOPER (or ADMIN)")
	sf := addSpecFlags(cf.fs)
	want := 0
	if sub == "update" {
		want = 1
	}
	pos, help, err := cf.parse(args, want, scheduleWriteUsage, stdout)
	if err != nil || help {
		return err
	}
	sf.set = map[string]bool{}
	cf.fs.Visit(func(fl *flag.Flag) { sf.set[fl.Name] = true })
	if sub == "update" && len(sf.set) == len(setHubFlags(cf.fs)) {
		return errors.New("update changes nothing: give the flags to change (exekractl schedule update -h)")
	}
	var spec runners.ScheduleSpec
	if sf.fromFile != "" {
		if spec, err = readSpecFile(sf.fromFile); err != nil {
			return err
		}
	}
	// A create's mistakes in the flags are reported before reading the token.
	if sub == "create" {
		probe := spec
		if err := sf.apply(&probe, nil); err != nil {
			return err
		}
		if err := checkSpec(probe); err != nil {
			return err
		}
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	path := runners.PathSchedules
	if sub == "update" {
		path = runners.SchedulePath(pos[0])
		if sf.fromFile == "" {
			var cur runners.Schedule
			if err := c.JSON("GET", path, nil, &cur); err != nil {
				return hubErr("read schedule "+pos[0], err)
			}
			spec = specOf(cur)
		}
	}
	var types map[string]string
	if len(sf.params) > 0 {
		probe := spec
		if sf.set["package"] {
			probe.Package = sf.pkg
		}
		if sf.set["version"] {
			probe.Version = sf.version
		}
		types = paramTypes(c, probe.Package, probe.Version)
	}
	if err := sf.apply(&spec, types); err != nil {
		return err
	}
	if sf.set["calendar"] {
		if spec.CalendarIDs, err = resolveCalendars(c, nonEmpty(sf.calendars)); err != nil {
			return err
		}
	}
	if err := checkSpec(spec); err != nil {
		return err
	}
	var s runners.Schedule
	method := "POST"
	if sub == "update" {
		method = "PUT"
	}
	if err := c.JSON(method, path, spec, &s); err != nil {
		if sub == "update" {
			return hubErr("update schedule "+pos[0], err)
		}
		return hubErr("create schedule "+spec.Name, err)
	}
	if cf.json {
		return printJSON(stdout, s)
	}
	printSchedule(stdout, s)
	return nil
}

// setHubFlags lists the flags given that are not part of the spec.
func setHubFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "hub", "token-file", "ca", "fingerprint", "json":
			out = append(out, fl.Name)
		}
	})
	return out
}
