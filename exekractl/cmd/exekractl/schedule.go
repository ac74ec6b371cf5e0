package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

const scheduleUsage = `usage: exekractl schedule <subcommand> [flags]

  list [--state S] [--environment E] [--package P] [--calendar ID_OR_NAME]
  show ID                       spec, state, next 10 fire times (its zone and UTC), last fires
  create --name N --package P --environment E (--cron EXPR | --every DURATION) [flags]
  update ID [flags]             fetch the schedule, apply the flags given, PUT the whole spec
  pause ID | resume ID          resume does not make up the fire times that passed
  run ID                        a manual fire now, as you; exit 1 if it failed
  delete ID                     the jobs it started stay
  next ID [--count N]           coming fire times
  fires [ID] [--outcome O] [--since T] [--until T] [--limit N]

Reading, pause, resume and run take OPERATOR (or higher); create, update and delete take
DEVELOPER (or ADMIN). Every subcommand takes --json (the Hub's JSON instead of a table) and
--hub, --token-file, --ca or --fingerprint. "exekractl schedule create -h" lists the spec flags.`

// runSchedule dispatches exekractl schedule's subcommands.
func runSchedule(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("schedule needs a subcommand\n" + scheduleUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return scheduleList(rest, stdout)
	case "show":
		return scheduleShow(rest, stdout)
	case "create", "update":
		return scheduleWrite(sub, rest, stdout)
	case "pause", "resume", "delete":
		return scheduleAct(sub, rest, stdout)
	case "run":
		return scheduleRunNow(ctx, rest, stdout)
	case "next":
		return scheduleNext(rest, stdout)
	case "fires":
		return scheduleFires(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, scheduleUsage)
		return nil
	}
	return fmt.Errorf("unknown schedule subcommand %q\n%s", sub, scheduleUsage)
}

// cmdFlags are the flags every list/show subcommand shares: the Hub and --json.
type cmdFlags struct {
	fs   *flag.FlagSet
	hub  *hubFlags
	json bool
}

func newCmdFlags(name, role string) *cmdFlags {
	fs := flag.NewFlagSet("exekractl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned, -h is printed by parse
	c := &cmdFlags{fs: fs, hub: addHubFlags(fs, role)}
	fs.BoolVar(&c.json, "json", false, "print the Hub's JSON instead of a table")
	return c
}

// parse parses args (flags before or after the positional arguments) and
// checks that there are exactly want positional arguments (want < 0: at
// most -want). help is true when -h was asked for and printed.
func (c *cmdFlags) parse(args []string, want int, usage string, stdout io.Writer) (pos []string, help bool, err error) {
	pos, err = parseInterspersed(c.fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, "usage: "+usage)
		c.fs.SetOutput(stdout)
		c.fs.PrintDefaults()
		return nil, true, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w (usage: %s)", err, usage)
	}
	switch {
	case want >= 0 && len(pos) != want:
		return nil, false, fmt.Errorf("want %d argument(s), got %d (usage: %s)", want, len(pos), usage)
	case want < 0 && len(pos) > -want:
		return nil, false, fmt.Errorf("unexpected argument %q (usage: %s)", pos[len(pos)-1], usage)
	}
	return pos, false, nil
}

// printJSON writes v indented.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// hubErr wraps a Hub call's error with what was being done.
func hubErr(what string, err error) error {
	var api *hubclient.APIError
	if errors.As(err, &api) && api.Code == "" {
		return fmt.Errorf("%s: HTTP %d from the Hub", what, api.Status)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// listAll follows next_cursor from path (which may hold a query) until the
// last page or until max items (0: no bound) were gathered.
func listAll[T any](c *hubclient.Client, path string, max int) ([]T, error) {
	var all []T
	cursor := ""
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for {
		limit := 500
		if max > 0 {
			limit = min(limit, max-len(all))
		}
		p := path + sep + "limit=" + strconv.Itoa(limit)
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := c.JSON("GET", p, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || page.NextCursor == cursor || max > 0 && len(all) >= max {
			if all == nil {
				all = []T{}
			}
			return all, nil
		}
		cursor = page.NextCursor
	}
}

func scheduleList(args []string, stdout io.Writer) error {
	cf := newCmdFlags("schedule list", "OPERATOR (or higher)")
	state := cf.fs.String("state", "", "only schedules in this state: "+strings.Join(runners.ScheduleStates, ", "))
	env := cf.fs.String("environment", "", "only schedules of this environment")
	pkg := cf.fs.String("package", "", "only schedules of this package")
	cal := cf.fs.String("calendar", "", "only schedules using this calendar (id or name)")
	_, help, err := cf.parse(args, 0, "exekractl schedule list [--state S] [--environment E] [--package P] [--calendar ID_OR_NAME] [--json]", stdout)
	if err != nil || help {
		return err
	}
	q := url.Values{}
	if *state != "" {
		if !slices.Contains(runners.ScheduleStates, *state) {
			return fmt.Errorf("--state %q is not one of %s", *state, strings.Join(runners.ScheduleStates, ", "))
		}
		q.Set("state", *state)
	}
	if *env != "" {
		e, err := parseEnvironment(*env)
		if err != nil {
			return err
		}
		q.Set("environment", e)
	}
	if *pkg != "" {
		q.Set("package", *pkg)
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	if *cal != "" {
		ids, err := resolveCalendars(c, []string{*cal})
		if err != nil {
			return err
		}
		q.Set("calendar_id", ids[0])
	}
	path := runners.PathSchedules
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	items, err := listAll[runners.Schedule](c, path, 0)
	if err != nil {
		return hubErr("list schedules", err)
	}
	if cf.json {
		return printJSON(stdout, items)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSTATE\tWHEN\tPACKAGE\tENVIRONMENT\tNEXT FIRE (UTC)\tLAST FIRE")
	for _, s := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s@%s\t%s\t%s\t%s\n", s.ID, s.Name, s.State, when(s), s.Package, s.Version,
			s.Environment, fmtTimePtr(s.NextFireAt), lastFire(s.LastFire))
	}
	return tw.Flush()
}

// when says when schedule s fires, in a few words.
func when(s runners.Schedule) string {
	if s.Cron != "" {
		return fmt.Sprintf("cron %q %s", s.Cron, s.TimeZone)
	}
	return "every " + fmtSeconds(s.IntervalSeconds)
}

// fmtSeconds writes a number of seconds as a Go duration without zero units.
func fmtSeconds(n int) string {
	s := (time.Duration(n) * time.Second).String()
	s = strings.TrimSuffix(s, "0s")
	return strings.TrimSuffix(s, "0m")
}

func fmtTimePtr(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func lastFire(f *runners.ScheduleFire) string {
	if f == nil {
		return "-"
	}
	return f.Outcome + " " + f.FireTime.UTC().Format(time.RFC3339)
}

func deref(s *string) string {
	if s == nil || *s == "" {
		return "-"
	}
	return *s
}

// scheduleDetail is what schedule show prints (and its --json).
type scheduleDetail struct {
	Schedule runners.Schedule       `json:"schedule"`
	Next     runners.NextFires      `json:"next"`
	Fires    []runners.ScheduleFire `json:"last_fires"`
}

func scheduleShow(args []string, stdout io.Writer) error {
	cf := newCmdFlags("schedule show", "OPERATOR (or higher)")
	fires := cf.fs.Int("fires", 10, "how many of the last fires to show")
	pos, help, err := cf.parse(args, 1, "exekractl schedule show ID [--fires N] [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	var d scheduleDetail
	id := pos[0]
	if err := c.JSON("GET", runners.SchedulePath(id), nil, &d.Schedule); err != nil {
		return hubErr("read schedule "+id, err)
	}
	if err := c.JSON("GET", runners.SchedulePath(id)+"/next?count="+strconv.Itoa(runners.DefaultNextFires), nil, &d.Next); err != nil {
		return hubErr("next fire times of "+id, err)
	}
	d.Fires = []runners.ScheduleFire{}
	if *fires > 0 {
		if d.Fires, err = listAll[runners.ScheduleFire](c, runners.SchedulePath(id)+"/fires", *fires); err != nil {
			return hubErr("fires of "+id, err)
		}
	}
	if cf.json {
		return printJSON(stdout, d)
	}
	printSchedule(stdout, d.Schedule)
	fmt.Fprintln(stdout)
	fmt.Fprintf(stdout, "Next fire times (%s and UTC):\n", d.Next.TimeZone)
	printNext(stdout, d.Next)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Last fires:")
	return printFires(stdout, d.Fires, false)
}

// printSchedule writes schedule s as "key: value" lines.
func printSchedule(w io.Writer, s runners.Schedule) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	line("id", s.ID)
	line("name", s.Name)
	if s.Description != "" {
		line("description", s.Description)
	}
	line("state", s.State)
	line("package", s.Package+" "+s.Version)
	line("environment", s.Environment)
	switch {
	case s.RunnerID != nil && *s.RunnerID != "":
		line("runner", *s.RunnerID)
	case len(s.Labels) > 0:
		line("labels", strings.Join(s.Labels, ", "))
	}
	if p := string(s.Parameters); p != "" && p != "null" && p != "{}" {
		line("parameters", p)
	}
	line("max attempts", strconv.Itoa(s.MaxAttempts))
	line("timeout", fmtSeconds(s.TimeoutSeconds))
	if s.Cron != "" {
		line("cron", s.Cron)
	} else {
		line("every", fmtSeconds(s.IntervalSeconds))
	}
	line("time zone", s.TimeZone)
	if s.StartAt != nil {
		line("start", s.StartAt.Format(time.RFC3339))
	}
	if s.EndAt != nil {
		line("end", s.EndAt.Format(time.RFC3339))
	}
	if len(s.CalendarIDs) > 0 {
		line("calendars", strings.Join(s.CalendarIDs, ", "))
	}
	line("concurrency", s.Concurrency)
	line("misfire", s.Misfire)
	line("next fire", fmtTimePtr(s.NextFireAt))
	line("last fire", lastFire(s.LastFire))
	line("created", s.CreatedAt.UTC().Format(time.RFC3339)+" by "+s.CreatedBy)
	line("updated", s.UpdatedAt.UTC().Format(time.RFC3339))
	tw.Flush()
}

func printNext(w io.Writer, n runners.NextFires) {
	if len(n.Items) == 0 {
		fmt.Fprintln(w, "  none (the schedule is paused or ended)")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOCAL\tUTC\tSKIPPED BY CALENDAR")
	for _, f := range n.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Local, f.At.UTC().Format(time.RFC3339), deref(f.SkippedByCalendar))
	}
	tw.Flush()
}

// printFires writes fires as a table; withSchedule adds the schedule's columns.
func printFires(w io.Writer, fires []runners.ScheduleFire, withSchedule bool) error {
	if len(fires) == 0 {
		fmt.Fprintln(w, "  none")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "FIRE TIME (UTC)\tKIND\tOUTCOME\tJOB\tLAG\tREASON"
	if withSchedule {
		head = "SCHEDULE\tNAME\t" + head
	}
	fmt.Fprintln(tw, head)
	for _, f := range fires {
		lag := "-"
		if f.LagSeconds != nil {
			lag = strconv.FormatFloat(*f.LagSeconds, 'f', 1, 64) + "s"
		}
		row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", f.FireTime.UTC().Format(time.RFC3339), f.Kind, f.Outcome, deref(f.JobID), lag, f.Reason)
		if withSchedule {
			row = f.ScheduleID + "\t" + f.ScheduleName + "\t" + row
		}
		fmt.Fprintln(tw, row)
	}
	return tw.Flush()
}

func scheduleNext(args []string, stdout io.Writer) error {
	cf := newCmdFlags("schedule next", "OPERATOR (or higher)")
	count := cf.fs.Int("count", runners.DefaultNextFires, fmt.Sprintf("how many coming fire times (1 to %d)", runners.MaxNextFires))
	pos, help, err := cf.parse(args, 1, "exekractl schedule next ID [--count N] [--json]", stdout)
	if err != nil || help {
		return err
	}
	if *count < 1 || *count > runners.MaxNextFires {
		return fmt.Errorf("--count must be 1 to %d", runners.MaxNextFires)
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	var n runners.NextFires
	if err := c.JSON("GET", runners.SchedulePath(pos[0])+"/next?count="+strconv.Itoa(*count), nil, &n); err != nil {
		return hubErr("next fire times of "+pos[0], err)
	}
	if cf.json {
		return printJSON(stdout, n)
	}
	fmt.Fprintf(stdout, "time zone %s\n", n.TimeZone)
	printNext(stdout, n)
	return nil
}

func scheduleFires(args []string, stdout io.Writer) error {
	cf := newCmdFlags("schedule fires", "OPERATOR (or higher)")
	outcome := cf.fs.String("outcome", "", "only fires of this outcome: "+strings.Join(runners.FireOutcomes, ", "))
	sinceS := cf.fs.String("since", "", "only fires due at or after this RFC 3339 time")
	untilS := cf.fs.String("until", "", "only fires due at or before this RFC 3339 time")
	limit := cf.fs.Int("limit", 50, "at most this many fires, newest first")
	pos, help, err := cf.parse(args, -1, "exekractl schedule fires [ID] [--outcome O] [--since T] [--until T] [--limit N] [--json]", stdout)
	if err != nil || help {
		return err
	}
	if *outcome != "" && !slices.Contains(runners.FireOutcomes, *outcome) {
		return fmt.Errorf("--outcome %q is not one of %s", *outcome, strings.Join(runners.FireOutcomes, ", "))
	}
	if *limit < 1 {
		return errors.New("--limit must be positive")
	}
	since, err := parseTimeFlag("since", *sinceS)
	if err != nil {
		return err
	}
	until, err := parseTimeFlag("until", *untilS)
	if err != nil {
		return err
	}
	if since != nil && until != nil && until.Before(*since) {
		return errors.New("--until must not be before --since")
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	q := url.Values{}
	if *outcome != "" {
		q.Set("outcome", *outcome)
	}
	var fires []runners.ScheduleFire
	if len(pos) == 0 {
		if since != nil {
			q.Set("since", since.UTC().Format(time.RFC3339))
		}
		if until != nil {
			q.Set("until", until.UTC().Format(time.RFC3339))
		}
		path := runners.PathFires
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		if fires, err = listAll[runners.ScheduleFire](c, path, *limit); err != nil {
			return hubErr("list fires", err)
		}
	} else if fires, err = scheduleFiresBetween(c, pos[0], q, since, until, *limit); err != nil {
		return hubErr("fires of "+pos[0], err)
	}
	if cf.json {
		return printJSON(stdout, fires)
	}
	return printFires(stdout, fires, len(pos) == 0)
}

// scheduleFiresBetween pages through one schedule's fires (newest first)
// keeping those due between since and until: that route takes no time
// bounds, so they are applied here.
func scheduleFiresBetween(c *hubclient.Client, id string, q url.Values, since, until *time.Time, limit int) ([]runners.ScheduleFire, error) {
	base := runners.SchedulePath(id) + "/fires"
	out := []runners.ScheduleFire{}
	cursor := ""
	for {
		qq := url.Values{}
		for k, v := range q {
			qq[k] = v
		}
		qq.Set("limit", "500")
		if since == nil && until == nil {
			qq.Set("limit", strconv.Itoa(min(500, limit-len(out))))
		}
		if cursor != "" {
			qq.Set("cursor", cursor)
		}
		var page runners.ListFiresResponse
		if err := c.JSON("GET", base+"?"+qq.Encode(), nil, &page); err != nil {
			return nil, err
		}
		for _, f := range page.Items {
			if until != nil && f.FireTime.After(*until) {
				continue
			}
			if since != nil && f.FireTime.Before(*since) {
				return out, nil // newest first: the rest are older still
			}
			out = append(out, f)
			if len(out) == limit {
				return out, nil
			}
		}
		if page.NextCursor == "" || page.NextCursor == cursor {
			return out, nil
		}
		cursor = page.NextCursor
	}
}

// parseTimeFlag parses an optional RFC 3339 flag value.
func parseTimeFlag(name, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, fmt.Errorf("--%s must be an RFC 3339 time such as 2026-03-08T02:30:00-05:00, not %q", name, v)
	}
	return &t, nil
}

// scheduleAct pauses, resumes or deletes one schedule.
func scheduleAct(sub string, args []string, stdout io.Writer) error {
	role := "OPERATOR (or higher)"
	if sub == "delete" {
		role = "DEVELOPER (or ADMIN)"
	}
	cf := newCmdFlags("schedule "+sub, role)
	pos, help, err := cf.parse(args, 1, "exekractl schedule "+sub+" ID [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	id := pos[0]
	if sub == "delete" {
		if err := c.JSON("DELETE", runners.SchedulePath(id), nil, nil); err != nil {
			return hubErr("delete schedule "+id, err)
		}
		if cf.json {
			return printJSON(stdout, map[string]string{"deleted": id})
		}
		fmt.Fprintf(stdout, "deleted schedule %s (the jobs it started stay)\n", id)
		return nil
	}
	var s runners.Schedule
	if err := c.JSON("POST", runners.SchedulePath(id)+"/"+sub, nil, &s); err != nil {
		return hubErr(sub+" schedule "+id, err)
	}
	if cf.json {
		return printJSON(stdout, s)
	}
	fmt.Fprintf(stdout, "schedule %s (%s) is %s; next fire %s\n", s.ID, s.Name, s.State, fmtTimePtr(s.NextFireAt))
	return nil
}

// scheduleRunNow fires the schedule now under a fresh Idempotency-Key,
// sending it again (same key) while the Hub is briefly unavailable, so a
// lost answer never starts a second job.
func scheduleRunNow(ctx context.Context, args []string, stdout io.Writer) error {
	cf := newCmdFlags("schedule run", "OPERATOR (or higher)")
	pos, help, err := cf.parse(args, 1, "exekractl schedule run ID [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	rand.Read(key) // never fails (crypto/rand)
	c = c.WithHeader(runners.HeaderIdempotencyKey, hex.EncodeToString(key))
	id := pos[0]
	var fire runners.ScheduleFire
	for attempt := 1; ; attempt++ {
		err = c.JSON("POST", runners.SchedulePath(id)+"/run", nil, &fire)
		if err == nil || attempt == startAttempts || !transient(err) {
			break
		}
		select {
		case <-ctx.Done():
			return hubErr("run schedule "+id, err)
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
	if err != nil {
		return hubErr("run schedule "+id, err)
	}
	if cf.json {
		if err := printJSON(stdout, fire); err != nil {
			return err
		}
	} else {
		msg := fire.Outcome
		if fire.JobID != nil {
			msg += " " + *fire.JobID
		}
		if fire.Reason != "" {
			msg += ": " + fire.Reason
		}
		fmt.Fprintln(stdout, msg)
	}
	if fire.Outcome == runners.FireFailed {
		return fmt.Errorf("schedule %s: no job was created: %s", id, fire.Reason)
	}
	return nil
}
