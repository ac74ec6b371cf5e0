package supervisor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// sysProcAttr starts a child in a process group of its own: the Ctrl-C that
// NSSM (or a console) sends reaches the supervisor only, which then stops
// the children in order. Running a child as another user is not supported.
func sysProcAttr(spec Spec) (*syscall.SysProcAttr, error) {
	if spec.Credential != nil {
		return nil, errors.New("running a child as another user is not supported on Windows")
	}
	return &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}, nil
}

// requestStop sends CTRL_BREAK_EVENT to the child's process group (Windows
// has no signals; a new process group ignores Ctrl-C). Go programs take it as
// SIGINT, PostgreSQL as a fast shutdown. It fails when the supervisor has no
// console to share with the child; the child is then killed at once.
func requestStop(p *os.Process, _ syscall.Signal) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}

// stopRequestName is what requestStop sends, for the log.
func stopRequestName(syscall.Signal) string { return "CTRL_BREAK_EVENT" }

// kill terminates the child; unlike on Unix, not its own children, if any.
func kill(p *os.Process) error { return p.Kill() }

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }

// bindChildrenToSupervisor stands in for Linux's parent-death signal: it puts
// the supervisor in a job object that kills every process in it when its last
// handle closes, that is when the supervisor ends, however it ends. Children
// started afterwards join the job. Done once per process; the handle is kept
// open on purpose.
var bindChildrenToSupervisor = sync.OnceValue(func() error {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return fmt.Errorf("create job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		_ = windows.CloseHandle(job)
		return fmt.Errorf("set job object limits: %w", err)
	}
	if err := windows.AssignProcessToJobObject(job, windows.CurrentProcess()); err != nil {
		_ = windows.CloseHandle(job)
		return fmt.Errorf("join job object: %w", err)
	}
	return nil
})
