//go:build unix

package daemon

import "syscall"

// openFilesLimit is the process's soft RLIMIT_NOFILE (Go raises it to the
// hard limit at start-up); 0 when unknown or unlimited (infinity, or more
// than 2^31).
func openFilesLimit() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	if cur := uint64(l.Cur); cur <= 1<<31 {
		return cur
	}
	return 0
}
