package loadgen

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on
// every Linux architecture the Hub ships for.
const clockTicks = 100

// TreeCPU is the CPU time process pid and all its descendants have spent,
// in seconds, by program name: each one's user and system time plus that of
// its children it has waited for (so a PostgreSQL backend that ended still
// counts, in the postmaster). The difference of two readings is the CPU
// spent between them. Linux only.
func TreeCPU(pid int) (map[string]float64, error) {
	children, names, err := processes()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = append(todo[:len(todo)-1], children[p]...)
		s, err := processCPU(p)
		if err != nil {
			if p == pid {
				return nil, err
			}
			continue // it ended meanwhile
		}
		out[names[p]] += s
	}
	return out, nil
}

// processCPU is utime+stime+cutime+cstime of pid, in seconds.
func processCPU(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return statCPU(data)
}

// statCPU reads the CPU times of a /proc/<pid>/stat line: after "(comm)",
// fields 11 to 14 (counted from the state, 0) are utime, stime, cutime and
// cstime in clock ticks.
func statCPU(data []byte) (float64, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat: no command name in %q", data)
	}
	fields := strings.Fields(string(data[end+1:]))
	if len(fields) < 15 {
		return 0, fmt.Errorf("stat: %d fields after the command name", len(fields))
	}
	var ticks int64
	for _, f := range fields[11:15] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: CPU time %q: %w", f, err)
		}
		ticks += n
	}
	return float64(ticks) / clockTicks, nil
}

// CPUPerOp is the total of tree over ops, in ms (0 when either is empty).
func CPUPerOp(tree map[string]float64, ops int) float64 {
	if len(tree) == 0 || ops <= 0 {
		return 0
	}
	total := 0.0
	for _, s := range tree {
		total += s
	}
	return total * 1000 / float64(ops)
}

// CPUBreakdown reads "exekra-runners 1.10, postgres 0.90, …" ms per op,
// the largest first.
func CPUBreakdown(tree map[string]float64, ops int) string {
	if ops <= 0 {
		return ""
	}
	names := slices.SortedFunc(maps.Keys(tree), func(a, b string) int { return cmp.Compare(tree[b], tree[a]) })
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", n, tree[n]*1000/float64(ops)))
	}
	return strings.Join(parts, ", ")
}

// CPUSpent is after minus before, by program (a program only in after
// counts in full; negative differences, a process gone with its time
// unaccounted, count as 0).
func CPUSpent(before, after map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for name, a := range after {
		out[name] = max(a-before[name], 0)
	}
	return out
}
