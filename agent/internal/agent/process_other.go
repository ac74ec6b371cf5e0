//go:build !unix

package agent

import "os/exec"

// ownGroup does nothing here: without process groups only the entrypoint itself is stopped.
func ownGroup(*exec.Cmd) {}

// signalTree stops the entrypoint (no graceful signal: it is killed).
func signalTree(cmd *exec.Cmd, _ bool) {
	if cmd.Process != nil {
		_ = cmd.Process.Kill()
	}
}
