package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills the server if the test binary dies without cleaning up.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
