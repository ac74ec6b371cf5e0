//go:build unix

package pgcluster

import (
	"io/fs"
	"syscall"
)

// Credential runs a child as the owner with no supplementary groups; nil
// (run as the supervisor's own user) for a nil owner.
func (o *Owner) Credential() *syscall.Credential {
	if o == nil {
		return nil
	}
	return &syscall.Credential{Uid: o.UID, Gid: o.GID, Groups: []uint32{}}
}

// initdbAttr runs initdb as the owner in a process group of its own.
func (o *Owner) initdbAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: o.Credential()}
}

func (o *Owner) mayTraverse(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := info.Mode().Perm()
	switch {
	case st.Uid == o.UID:
		return perm&0o100 != 0
	case st.Gid == o.GID:
		return perm&0o010 != 0
	}
	return perm&0o001 != 0
}
