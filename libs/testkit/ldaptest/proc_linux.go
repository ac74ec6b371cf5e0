package ldaptest

import (
	"os/exec"
	"syscall"
)

// dieWithParent kills slapd if the test binary dies without cleaning up.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
