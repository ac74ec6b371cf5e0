package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

const calendarUsage = `usage: exekractl calendar <subcommand> [flags]

  list
  show ID_OR_NAME
  create --name N [--time-zone TZ] [--description D] (--date YYYY-MM-DD ... | --dates-file F)
  update ID_OR_NAME [--name N] [--time-zone TZ] [--description D] [--date D ... | --dates-file F]
                    [--add-date D ...] [--remove-date D ...]
  delete ID_OR_NAME             refused while a schedule uses it

A calendar lists non-working days: a schedule using it skips every fire time whose date, in
the calendar's time zone, is one of them. A dates file holds one YYYY-MM-DD a line; blank
lines and text after # are ignored. Reading takes OPERATOR (or higher); create, update and
delete take DEVELOPER (or ADMIN). Every subcommand takes --json and --hub, --token-file,
--ca or --fingerprint.`

// runCalendar dispatches exekractl calendar's subcommands.
func runCalendar(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("calendar needs a subcommand\n" + calendarUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return calendarList(rest, stdout)
	case "show":
		return calendarShow(rest, stdout)
	case "create", "update":
		return calendarWrite(sub, rest, stdout)
	case "delete":
		return calendarDelete(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, calendarUsage)
		return nil
	}
	return fmt.Errorf("unknown calendar subcommand %q\n%s", sub, calendarUsage)
}

func calendarList(args []string, stdout io.Writer) error {
	cf := newCmdFlags("calendar list", "OPERATOR (or higher)")
	_, help, err := cf.parse(args, 0, "exekractl calendar list [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	cals, err := listAll[runners.Calendar](c, runners.PathCalendars, 0)
	if err != nil {
		return hubErr("list calendars", err)
	}
	if cf.json {
		return printJSON(stdout, cals)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tTIME ZONE\tDATES\tFIRST\tLAST")
	for _, cal := range cals {
		first, last := "-", "-"
		if n := len(cal.Dates); n > 0 {
			first, last = cal.Dates[0], cal.Dates[n-1]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", cal.ID, cal.Name, cal.TimeZone, len(cal.Dates), first, last)
	}
	return tw.Flush()
}

// getCalendar reads calendar ref, by id or else by name.
func getCalendar(c *hubclient.Client, ref string) (runners.Calendar, error) {
	var cal runners.Calendar
	err := c.JSON("GET", runners.CalendarPath(ref), nil, &cal)
	var api *hubclient.APIError
	if err == nil || !errors.As(err, &api) || api.Status != 404 && api.Status != 400 {
		return cal, err // 400: not the form of an id, perhaps a name
	}
	cals, lerr := listAll[runners.Calendar](c, runners.PathCalendars, 0)
	if lerr != nil {
		return cal, err
	}
	return findCalendar(cals, ref)
}

func calendarShow(args []string, stdout io.Writer) error {
	cf := newCmdFlags("calendar show", "OPERATOR (or higher)")
	pos, help, err := cf.parse(args, 1, "exekractl calendar show ID_OR_NAME [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	cal, err := getCalendar(c, pos[0])
	if err != nil {
		return hubErr("read calendar "+pos[0], err)
	}
	if cf.json {
		return printJSON(stdout, cal)
	}
	printCalendar(stdout, cal)
	return nil
}

func printCalendar(w io.Writer, cal runners.Calendar) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	fmt.Fprintf(tw, "id:\t%s\nname:\t%s\n", cal.ID, cal.Name)
	if cal.Description != "" {
		fmt.Fprintf(tw, "description:\t%s\n", cal.Description)
	}
	fmt.Fprintf(tw, "time zone:\t%s\ncreated:\t%s by %s\nupdated:\t%s\n", cal.TimeZone,
		cal.CreatedAt.UTC().Format(time.RFC3339), cal.CreatedBy, cal.UpdatedAt.UTC().Format(time.RFC3339))
	fmt.Fprintf(tw, "dates:\t%d\n", len(cal.Dates))
	tw.Flush()
	for _, d := range cal.Dates {
		fmt.Fprintln(w, "  "+d)
	}
}

// readDatesFile reads one date a line; blank lines and text after # are ignored.
func readDatesFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--dates-file: %w", err)
	}
	defer f.Close()
	var dates []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		if err := checkDate(line); err != nil {
			return nil, fmt.Errorf("--dates-file %s line %d: %w", path, n, err)
		}
		dates = append(dates, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("--dates-file %s: %w", path, err)
	}
	return dates, nil
}

func checkDate(d string) error {
	if _, err := time.Parse(time.DateOnly, d); err != nil {
		return fmt.Errorf("%q is not a date YYYY-MM-DD", d)
	}
	return nil
}

// calendarFlags are the flags of calendar create and update.
type calendarFlags struct {
	set                                 map[string]bool
	name, timeZone, description, datesF string
	dates, add, remove                  stringList
}

// apply changes spec by the flags given.
func (f *calendarFlags) apply(spec *runners.CalendarSpec) error {
	if f.set["name"] {
		spec.Name = strings.TrimSpace(f.name)
	}
	if f.set["time-zone"] {
		spec.TimeZone = strings.TrimSpace(f.timeZone)
	}
	if f.set["description"] {
		spec.Description = f.description
	}
	if f.set["date"] && f.set["dates-file"] {
		return errors.New("give --date or --dates-file, not both")
	}
	if f.set["date"] {
		spec.Dates = nonEmpty(f.dates)
	}
	if f.set["dates-file"] {
		dates, err := readDatesFile(f.datesF)
		if err != nil {
			return err
		}
		spec.Dates = dates
	}
	spec.Dates = append(spec.Dates, f.add...)
	spec.Dates = slices.DeleteFunc(spec.Dates, func(d string) bool { return slices.Contains(f.remove, d) })
	for _, d := range append(slices.Clone(spec.Dates), f.remove...) {
		if err := checkDate(d); err != nil {
			return err
		}
	}
	slices.Sort(spec.Dates)
	spec.Dates = slices.Compact(spec.Dates)
	if spec.Dates == nil {
		spec.Dates = []string{}
	}
	if spec.Name == "" {
		return errors.New("--name is required")
	}
	if len(spec.Dates) > runners.MaxCalendarDates {
		return fmt.Errorf("%d dates: a calendar holds at most %d", len(spec.Dates), runners.MaxCalendarDates)
	}
	return nil
}

func calendarWrite(sub string, args []string, stdout io.Writer) error {
	cf := newCmdFlags("calendar "+sub, "DEVELOPER (or ADMIN)")
	f := &calendarFlags{}
	cf.fs.StringVar(&f.name, "name", "", "calendar name (unique)")
	cf.fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone the dates are days of (default UTC)")
	cf.fs.StringVar(&f.description, "description", "", "free text")
	cf.fs.Var(&f.dates, "date", "non-working day YYYY-MM-DD (repeatable; on update, replaces the dates)")
	cf.fs.StringVar(&f.datesF, "dates-file", "", "file of non-working days, one YYYY-MM-DD a line, # comments (on update, replaces the dates)")
	cf.fs.Var(&f.add, "add-date", "add this day YYYY-MM-DD (repeatable)")
	cf.fs.Var(&f.remove, "remove-date", "remove this day YYYY-MM-DD (repeatable)")
	usage := "exekractl calendar create --name N [--time-zone TZ] [--description D] (--date YYYY-MM-DD ... | --dates-file F) [--json]"
	want := 0
	if sub == "update" {
		usage = "exekractl calendar update ID_OR_NAME [--name N] [--time-zone TZ] [--description D] [--date D ... | --dates-file F] [--add-date D ...] [--remove-date D ...] [--json]"
		want = 1
	}
	pos, help, err := cf.parse(args, want, usage, stdout)
	if err != nil || help {
		return err
	}
	f.set = map[string]bool{}
	cf.fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	var spec runners.CalendarSpec
	if sub == "create" {
		if !f.set["date"] && !f.set["dates-file"] && !f.set["add-date"] {
			return errors.New("give the non-working days: --date YYYY-MM-DD ... or --dates-file F")
		}
		if err := f.apply(&spec); err != nil {
			return err
		}
	} else if len(f.set) == len(setHubFlags(cf.fs)) {
		return errors.New("update changes nothing: give the flags to change (exekractl calendar update -h)")
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	var cal runners.Calendar
	if sub == "create" {
		if err := c.JSON("POST", runners.PathCalendars, spec, &cal); err != nil {
			return hubErr("create calendar "+spec.Name, err)
		}
	} else {
		cur, err := getCalendar(c, pos[0])
		if err != nil {
			return hubErr("read calendar "+pos[0], err)
		}
		spec = runners.CalendarSpec{Name: cur.Name, Description: cur.Description, TimeZone: cur.TimeZone, Dates: cur.Dates}
		if err := f.apply(&spec); err != nil {
			return err
		}
		if err := c.JSON("PUT", runners.CalendarPath(cur.ID), spec, &cal); err != nil {
			return hubErr("update calendar "+pos[0], err)
		}
	}
	if cf.json {
		return printJSON(stdout, cal)
	}
	printCalendar(stdout, cal)
	return nil
}

func calendarDelete(args []string, stdout io.Writer) error {
	cf := newCmdFlags("calendar delete", "DEVELOPER (or ADMIN)")
	pos, help, err := cf.parse(args, 1, "exekractl calendar delete ID_OR_NAME [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	cal, err := getCalendar(c, pos[0])
	if err != nil {
		return hubErr("read calendar "+pos[0], err)
	}
	if err := c.JSON("DELETE", runners.CalendarPath(cal.ID), nil, nil); err != nil {
		return hubErr("delete calendar "+cal.Name, err)
	}
	if cf.json {
		return printJSON(stdout, map[string]string{"deleted": cal.ID})
	}
	fmt.Fprintf(stdout, "deleted calendar %s (%s)\n", cal.ID, cal.Name)
	return nil
}
