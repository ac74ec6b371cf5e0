package agent

import (
	"strings"
	"testing"
)

const procStat = `cpu  100 5 50 800 20 3 2 0 7 0
cpu0 50 2 25 400 10 1 1 0 3 0
intr 12345
`

const procMeminfo = `MemTotal:       16000000 kB
MemFree:         2000000 kB
MemAvailable:    4000000 kB
Buffers:          100000 kB
`

func TestParseCPU(t *testing.T) {
	cur, err := parseCPU(strings.NewReader(procStat))
	if err != nil || cur.total != 980 || cur.idle != 820 {
		t.Fatalf("%+v, %v", cur, err)
	}
	t.Run("the busy share between two samples", func(t *testing.T) {
		next := cpuTimes{total: cur.total + 200, idle: cur.idle + 150}
		if got := cpuPercent(cur, next); got != 25 {
			t.Fatalf("%v, want 25", got)
		}
	})
	t.Run("no time passed is 0", func(t *testing.T) {
		if got := cpuPercent(cur, cur); got != 0 {
			t.Fatal(got)
		}
	})
	t.Run("a file without a cpu line is an error", func(t *testing.T) {
		if _, err := parseCPU(strings.NewReader("intr 1\n")); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestParseMemory(t *testing.T) {
	if got, err := parseMemory(strings.NewReader(procMeminfo)); err != nil || got != 75 {
		t.Fatalf("%v, %v", got, err)
	}
	if _, err := parseMemory(strings.NewReader("MemTotal: 1 kB\n")); err == nil {
		t.Fatal("a meminfo without MemAvailable should be an error")
	}
}
