package backup

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A restore run as root (sudo, as the install steps are) writes files that
// the Hub, which may run as an unprivileged user (deploy/systemd runs it as
// exekra), must read and write. So, as root, whatever restore creates in
// the install dir takes the owner of the directory it is created in, and a
// file it replaces keeps the replaced file's owner. Run as anyone else,
// restore's files are that user's, as the Hub's own would be.

// chownLike gives path the owner and group of like; only as root.
func chownLike(path, like string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	info, err := os.Stat(like)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return os.Lchown(path, int(st.Uid), int(st.Gid))
}

// chownTreeLike is chownLike for root and everything below it.
func chownTreeLike(root, like string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return chownLike(path, like)
	})
}

// mkdirAllLike makes dir and its missing parents (mode 0755, as the
// supervisor does), each owned like the directory it is made in.
func mkdirAllLike(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllLike(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	return chownLike(dir, parent)
}
