package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// TreeMemory is the memory of process pid and all its descendants, in
// bytes, by program name (postgres counts all its processes): the sum of
// their proportional set sizes (PSS: a page shared by n processes counts 1/n
// in each, so PostgreSQL's shared buffers count once), or of their resident
// sets where PSS cannot be read. Linux only.
func TreeMemory(pid int) (map[string]int64, error) {
	children, names, err := processes()
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	todo := []int{pid}
	for len(todo) > 0 {
		p := todo[len(todo)-1]
		todo = append(todo[:len(todo)-1], children[p]...)
		n, err := processMemory(p)
		if err != nil {
			if p == pid {
				return nil, err
			}
			continue // it ended meanwhile
		}
		out[names[p]] += n
	}
	return out, nil
}

// Total is the sum of a TreeMemory.
func Total(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// processes maps each process to its children and to its name, from /proc/*/stat.
func processes() (map[int][]int, map[int]string, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return nil, nil, fmt.Errorf("read /proc: no processes (%v)", err)
	}
	out, names := map[int][]int{}, map[int]string{}
	for _, f := range stats {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		start, end := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if start < 0 || end < start {
			continue
		}
		fields := strings.Fields(string(data[end+1:]))
		pid, err1 := strconv.Atoi(strings.TrimSpace(string(data[:start])))
		if len(fields) < 2 || err1 != nil {
			continue
		}
		ppid, err := strconv.Atoi(fields[1])
		if err == nil {
			out[ppid] = append(out[ppid], pid)
			names[pid] = string(data[start+1 : end])
		}
	}
	return out, names, nil
}

// processMemory is pid's PSS, or its RSS when smaps_rollup is not readable.
func processMemory(pid int) (int64, error) {
	if kb, err := statusField(fmt.Sprintf("/proc/%d/smaps_rollup", pid), "Pss:"); err == nil {
		return kb * 1024, nil
	}
	kb, err := statusField(fmt.Sprintf("/proc/%d/status", pid), "VmRSS:")
	return kb * 1024, err
}

// statusField reads a "Name:   123 kB" line of a /proc file.
func statusField(file, name string) (int64, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", file, name)
}
