package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/exekra/hub/pilot/programs"
)

// Owner is the unprivileged system user that runs the cluster when the
// supervisor runs as root (PostgreSQL refuses to run as root).
type Owner struct {
	Name string
	UID  uint32
	GID  uint32
}

// EnsureOwner looks up the system user name and creates it (useradd
// --system, no home, no login shell) when it does not exist.
func EnsureOwner(ctx context.Context, log *slog.Logger, name, pathList string) (*Owner, error) {
	if name == "" {
		return nil, fmt.Errorf("database.private_os_user is empty: name the system user that runs the private PostgreSQL")
	}
	u, err := user.Lookup(name)
	if errors.As(err, new(user.UnknownUserError)) {
		if err := addSystemUser(ctx, name, pathList); err != nil {
			return nil, err
		}
		log.Info("created system user for the private PostgreSQL", "user", name)
		u, err = user.Lookup(name)
	}
	if err != nil {
		return nil, fmt.Errorf("system user %s (database.private_os_user): %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("system user %s: unexpected uid %q or gid %q", name, u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("database.private_os_user %s is root: PostgreSQL refuses to run as root; name an unprivileged user", name)
	}
	return &Owner{Name: name, UID: uint32(uid), GID: uint32(gid)}, nil
}

func addSystemUser(ctx context.Context, name, pathList string) error {
	useradd, err := programs.Find("useradd", pathList+string(filepath.ListSeparator)+"/usr/sbin:/sbin")
	if err != nil {
		return fmt.Errorf("system user %s does not exist and useradd was not found: create the user or set database.url", name)
	}
	args := []string{"--system", "--no-create-home", "--shell", "/usr/sbin/nologin"}
	if _, err := user.LookupGroup(name); err == nil {
		args = append(args, "--gid", name)
	} else {
		args = append(args, "--user-group")
	}
	out, err := exec.CommandContext(ctx, useradd, append(args, name)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("create system user %s with useradd: %v: %s", name, err, firstLine(out))
	}
	return nil
}

// chownTree gives root and everything below it to the owner.
func (o *Owner) chownTree(root string) error {
	return filepath.WalkDir(root, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, int(o.UID), int(o.GID)); err != nil {
			return fmt.Errorf("give %s to user %s: %w", path, o.Name, err)
		}
		return nil
	})
}

// checkReachable makes sure the owner may traverse every directory from /
// down to dir, so PostgreSQL can reach its data.
func (o *Owner) checkReachable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		info, err := os.Stat(p)
		if err != nil {
			return err
		}
		if !o.mayTraverse(info) {
			return fmt.Errorf("the private PostgreSQL runs as user %s, who cannot enter %s (mode %s): "+
				"make it traversable (chmod o+x %s) or choose another --home", o.Name, p, info.Mode().Perm(), p)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return s
}
