//go:build unix

package supervisor

import (
	"os"
	"syscall"
)

// sysProcAttr starts a child in a process group of its own, so terminal
// signals reach the supervisor only (it stops the children in order), as
// spec's user, with the stop signal as its parent-death signal (Linux).
func sysProcAttr(spec Spec) (*syscall.SysProcAttr, error) {
	attr := &syscall.SysProcAttr{Setpgid: true}
	if c := spec.Credential; c != nil {
		attr.Credential = &syscall.Credential{Uid: c.UID, Gid: c.GID, Groups: []uint32{}}
	}
	setParentDeathSignal(attr, spec.StopSignal)
	return attr, nil
}

// requestStop sends the child its stop signal.
func requestStop(p *os.Process, sig syscall.Signal) error { return p.Signal(sig) }

// stopRequestName is what requestStop sends, for the log.
func stopRequestName(sig syscall.Signal) string { return sig.String() }

// kill sends SIGKILL to the child's whole process group.
func kill(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }

// bindChildrenToSupervisor has nothing to do here: each child gets the
// parent-death signal on Linux (see setParentDeathSignal).
func bindChildrenToSupervisor() error { return nil }
