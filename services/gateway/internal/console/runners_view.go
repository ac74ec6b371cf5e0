package console

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
)

// runnerRow is one row of the runners table with its cells formatted as
// static/app.js formats them when it refreshes the row (keep the two equal).
type runnerRow struct {
	runners.Runner
	Labels        string // comma separated
	LastSeenAgo   string // "12 s ago", "never"
	LastSeenAt    string // "2026-01-02 15:04 UTC", "—"
	LastSeenISO   string // RFC 3339 for the script; "" when never seen
	ConnectedFrom string
	Version       string
	OS            string
	Hostname      string
	CPU           string // "12.5 %", "—" before the first heartbeat
	Memory        string
	DiskFree      string // "20.0 GiB"
}

const none = "—"

func newRunnerRow(r runners.Runner, now time.Time) runnerRow {
	row := runnerRow{Runner: r, Labels: strings.Join(r.Labels, ", "), LastSeenAgo: ago(r.LastSeenAt, now),
		LastSeenAt: when(r.LastSeenAt), ConnectedFrom: orNone(r.ConnectedFrom), Version: orNone(r.Version),
		OS: orNone(r.OS), Hostname: orNone(r.Hostname), CPU: none, Memory: none, DiskFree: none}
	if r.LastSeenAt != nil {
		row.LastSeenISO = r.LastSeenAt.UTC().Format(time.RFC3339)
		row.CPU, row.Memory = percent(r.Metrics.CPUPercent), percent(r.Metrics.MemoryPercent)
		row.DiskFree = humanBytes(r.Metrics.DiskFreeBytes)
	}
	return row
}

func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}

// percent shows p to one decimal, halves rounded up as app.js's toFixed does.
func percent(p float64) string { return fmt.Sprintf("%.1f %%", math.Round(p*10)/10) }

// humanBytes shows n in binary units: "512 B", "1.5 KiB", "20.0 GiB".
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, units := float64(n)/1024, []string{"KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// ago says how long before now t was: "12 s ago", "5 min ago", "3 h ago",
// "2 d ago"; "never" when t is nil.
func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "never"
	}
	s := int64(max(now.Sub(*t), 0) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%d s ago", s)
	case s < 3600:
		return fmt.Sprintf("%d min ago", s/60)
	case s < 86400:
		return fmt.Sprintf("%d h ago", s/3600)
	}
	return fmt.Sprintf("%d d ago", s/86400)
}

// splitLabels reads the comma-separated labels field: trimmed, empty ones dropped.
func splitLabels(raw string) []string {
	var labels []string
	for _, l := range strings.Split(raw, ",") {
		if l = strings.TrimSpace(l); l != "" {
			labels = append(labels, l)
		}
	}
	return labels
}
