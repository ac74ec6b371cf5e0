package agent

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// cpuTimes are the counters of the first line of /proc/stat.
type cpuTimes struct {
	idle, total uint64
}

// parseCPU reads the aggregate "cpu" line of /proc/stat: total is user,
// nice, system, idle, iowait, irq, softirq and steal (guest time is already
// in user); idle counts iowait too.
func parseCPU(r io.Reader) (cpuTimes, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || fields[0] != "cpu" {
			continue
		}
		var t cpuTimes
		for i, f := range fields[1:min(len(fields), 9)] {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return cpuTimes{}, fmt.Errorf("/proc/stat: %w", err)
			}
			t.total += v
			if i == 3 || i == 4 { // idle, iowait
				t.idle += v
			}
		}
		return t, nil
	}
	return cpuTimes{}, fmt.Errorf("/proc/stat has no cpu line")
}

// cpuPercent is the busy share between two samples, 0 when none passed.
func cpuPercent(prev, cur cpuTimes) float64 {
	if cur.total <= prev.total || cur.idle < prev.idle {
		return 0
	}
	total, idle := float64(cur.total-prev.total), float64(cur.idle-prev.idle)
	return clampPercent(100 * (total - idle) / total)
}

// parseMemory reads /proc/meminfo: the share of MemTotal not MemAvailable.
func parseMemory(r io.Reader) (float64, error) {
	var total, avail uint64
	var haveTotal, haveAvail bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		v, err := strconv.ParseUint(fields[1], 10, 64)
		switch {
		case err != nil:
			continue
		case fields[0] == "MemTotal:":
			total, haveTotal = v, true
		case fields[0] == "MemAvailable:":
			avail, haveAvail = v, true
		}
	}
	if !haveTotal || !haveAvail || total == 0 {
		return 0, fmt.Errorf("/proc/meminfo lacks MemTotal or MemAvailable")
	}
	return clampPercent(100 * float64(total-min(avail, total)) / float64(total)), nil
}

func clampPercent(v float64) float64 { return min(max(v, 0), 100) }
