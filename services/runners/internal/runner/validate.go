package runner

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
	"github.com/exekra/hub/libs/text"
	"github.com/google/uuid"
)

// Limits of what a runner is registered with.
const (
	MaxNameLen  = 100
	MaxLabels   = 32
	MaxLabelLen = 64
)

// Limits of what a heartbeat may carry.
const (
	MaxReportedLen  = 64  // version, os
	MaxHostnameLen  = 255 // hostname
	MaxUserAgentLen = 200 // longer user agents are cut, not refused
	MaxRunningJobs  = 64
	MaxJobIDLen     = 64
)

// NewRunner is what an administrator registers.
type NewRunner struct {
	Name        string
	Environment string
	Labels      []string
}

// validateNew checks a registration and returns the name trimmed and the
// labels without duplicates, in their order.
func validateNew(in NewRunner) (NewRunner, error) {
	in.Name = strings.TrimSpace(in.Name)
	if err := text.CheckName("name", in.Name); err != nil {
		return in, err
	}
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		return in, errs.E(errs.InvalidArgument, "name is required")
	case n > MaxNameLen:
		return in, errs.Ef(errs.InvalidArgument, "name must be at most %d characters", MaxNameLen)
	}
	if !slices.Contains(runners.Environments, in.Environment) {
		return in, errs.Ef(errs.InvalidArgument, "environment must be one of %s", strings.Join(runners.Environments, ", "))
	}
	labels, err := validateLabels(in.Labels)
	in.Labels = labels
	return in, err
}

func validateLabels(labels []string) ([]string, error) {
	if len(labels) > MaxLabels {
		return nil, errs.Ef(errs.InvalidArgument, "a runner has at most %d labels", MaxLabels)
	}
	out := make([]string, 0, len(labels))
	for _, l := range labels {
		if len(l) < 1 || len(l) > MaxLabelLen || strings.IndexFunc(l, notLabelRune) >= 0 {
			return nil, errs.Ef(errs.InvalidArgument,
				"label %q must be 1 to %d characters of A-Z, a-z, 0-9, '.', '_' and '-'", clip(l, MaxLabelLen), MaxLabelLen)
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out, nil
}

func notLabelRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
}

func printable(s string) bool { return strings.IndexFunc(s, unicode.IsControl) < 0 }

// clip shortens s to n bytes at a rune boundary, for messages.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// checkID refuses an id that is not a UUID (it cannot name a runner).
func checkID(id string) error {
	if _, err := uuid.Parse(id); err != nil || len(id) != 36 {
		return errs.E(errs.NotFound, "no runner has this id")
	}
	return nil
}

// validateHeartbeat checks what an authenticated runner reports.
func validateHeartbeat(p Presence) error {
	for _, f := range []struct {
		name, value string
		max         int
	}{{"version", p.Version, MaxReportedLen}, {"commit", p.Commit, MaxReportedLen}, {"os", p.OS, MaxReportedLen}, {"hostname", p.Hostname, MaxHostnameLen}} {
		if len(f.value) > f.max || !printable(f.value) || !utf8.ValidString(f.value) {
			return errs.Ef(errs.InvalidArgument, "%s must be at most %d printable characters", f.name, f.max)
		}
	}
	m := p.Metrics
	if !percent(m.CPUPercent) || !percent(m.MemoryPercent) || m.DiskFreeBytes < 0 {
		return errs.E(errs.InvalidArgument, "metrics: cpu_percent and memory_percent must be 0 to 100, disk_free_bytes not negative")
	}
	if len(p.RunningJobIDs) > MaxRunningJobs {
		return errs.Ef(errs.InvalidArgument, "running_job_ids holds at most %d ids", MaxRunningJobs)
	}
	for _, id := range p.RunningJobIDs {
		if id == "" || len(id) > MaxJobIDLen || !printable(id) {
			return errs.Ef(errs.InvalidArgument, "a running job id must be 1 to %d printable characters", MaxJobIDLen)
		}
	}
	return nil
}

func percent(v float64) bool { return !math.IsNaN(v) && v >= 0 && v <= 100 }
