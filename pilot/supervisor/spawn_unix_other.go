//go:build unix && !linux

package supervisor

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal does nothing: only Linux has a parent-death signal,
// so here children outlive a supervisor that dies without stopping them.
func setParentDeathSignal(*syscall.SysProcAttr, syscall.Signal) {}

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }
