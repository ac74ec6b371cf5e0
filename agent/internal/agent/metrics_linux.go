//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/exekra/hub/libs/contract/runners"
)

// Sampler measures this machine: CPU % from /proc/stat deltas between two
// samples (the first sample reports 0), memory % from /proc/meminfo, and
// the free space of the work dir's file system (for unprivileged users).
type Sampler struct {
	proc    string
	workDir string
	mu      sync.Mutex
	prev    cpuTimes
	started bool
}

// NewSampler measures workDir's file system.
func NewSampler(workDir string) *Sampler { return &Sampler{proc: "/proc", workDir: workDir} }

// Sample measures now; a reading that fails reports 0.
func (s *Sampler) Sample() runners.Metrics {
	return runners.Metrics{CPUPercent: s.cpu(), MemoryPercent: s.memory(), DiskFreeBytes: diskFree(s.workDir)}
}

func (s *Sampler) cpu() float64 {
	f, err := os.Open(filepath.Join(s.proc, "stat"))
	if err != nil {
		return 0
	}
	defer f.Close()
	cur, err := parseCPU(f)
	if err != nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, started := s.prev, s.started
	s.prev, s.started = cur, true
	if !started {
		return 0
	}
	return cpuPercent(prev, cur)
}

func (s *Sampler) memory() float64 {
	f, err := os.Open(filepath.Join(s.proc, "meminfo"))
	if err != nil {
		return 0
	}
	defer f.Close()
	pct, err := parseMemory(f)
	if err != nil {
		return 0
	}
	return pct
}

func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0
	}
	return int64(st.Bavail) * int64(st.Bsize)
}
