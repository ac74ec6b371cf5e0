//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSamplerOnThisMachine(t *testing.T) {
	s := NewSampler(t.TempDir())
	first := s.Sample()
	if first.CPUPercent != 0 {
		t.Fatalf("the first sample has no delta yet, got %v", first.CPUPercent)
	}
	for i := 0; i < 3e7; i++ { // burn a little CPU between samples
		_ = i * i
	}
	m := s.Sample()
	if m.CPUPercent < 0 || m.CPUPercent > 100 || m.MemoryPercent <= 0 || m.MemoryPercent > 100 || m.DiskFreeBytes <= 0 {
		t.Fatalf("metrics %+v", m)
	}
}

func TestSamplerFromFiles(t *testing.T) {
	proc := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(proc, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("stat", "cpu  100 0 0 900 0 0 0 0\n")
	write("meminfo", procMeminfo)
	s := &Sampler{proc: proc, workDir: proc}
	s.Sample()
	write("stat", "cpu  150 0 0 950 0 0 0 0\n")
	if m := s.Sample(); m.CPUPercent != 50 || m.MemoryPercent != 75 {
		t.Fatalf("metrics %+v", m)
	}
	t.Run("unreadable files report zeros", func(t *testing.T) {
		s := &Sampler{proc: filepath.Join(proc, "missing"), workDir: filepath.Join(proc, "missing")}
		if m := s.Sample(); m.CPUPercent != 0 || m.MemoryPercent != 0 || m.DiskFreeBytes != 0 {
			t.Fatalf("metrics %+v", m)
		}
	})
}
