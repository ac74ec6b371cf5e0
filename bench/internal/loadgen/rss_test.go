package loadgen

import (
	"os"
	"os/exec"
	"testing"
)

// TestTreeMemoryCountsChildren: a process tree weighs more than its root
// alone, and an unknown process is an error.
func TestTreeMemoryCountsChildren(t *testing.T) {
	self, err := TreeMemory(os.Getpid())
	if err != nil || Total(self) <= 0 {
		t.Fatalf("TreeMemory(self) = %v, %v", self, err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	child, err := processMemory(cmd.Process.Pid)
	if err != nil || child <= 0 {
		t.Fatalf("memory of the child = %d, %v", child, err)
	}
	tree, err := TreeMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if tree["sleep"] <= 0 || Total(tree) < tree["sleep"] {
		t.Fatalf("tree %v: no sleep in it", tree)
	}
	if _, err := TreeMemory(1 << 30); err == nil {
		t.Fatal("no error for a process that does not exist")
	}
}
