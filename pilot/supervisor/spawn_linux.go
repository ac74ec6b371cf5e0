package supervisor

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// setParentDeathSignal makes the kernel send sig to the child should the
// supervisor die without stopping its children.
func setParentDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }

// A child's parent-death signal fires when the OS thread that forked it
// ends, not when the process does. Every child is therefore started from one
// goroutine locked to its thread for the life of the process.
type startRequest struct {
	cmd  *exec.Cmd
	done chan error
}

var starter = sync.OnceValue(func() chan<- startRequest {
	reqs := make(chan startRequest)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread lives as long as the process
		for r := range reqs {
			r.done <- r.cmd.Start()
		}
	}()
	return reqs
})

// startCmd starts cmd on the starter thread.
func startCmd(cmd *exec.Cmd) error {
	done := make(chan error, 1)
	starter() <- startRequest{cmd: cmd, done: done}
	return <-done
}
