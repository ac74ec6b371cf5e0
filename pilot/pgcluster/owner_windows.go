package pgcluster

import (
	"io/fs"
	"syscall"
)

// On Windows the supervisor never runs the cluster (see CheckOS), and there
// is no owner to switch to: os.Geteuid is -1, so the supervisor asks for none.
// These keep the package building.

// initdbAttr runs initdb in a process group of its own, as the current user.
func (o *Owner) initdbAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// mayTraverse cannot read Windows ACLs from a mode; it trusts them.
func (o *Owner) mayTraverse(fs.FileInfo) bool { return true }
