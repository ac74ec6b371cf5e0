// Package pgcluster runs the pilot's private PostgreSQL cluster: it finds the
// server programs, creates the cluster with initdb on first start (as an
// unprivileged system user when the supervisor is root), and says how to run
// the server as a supervised child and how clients reach it.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/exekra/hub/pilot/listenaddr"
)

// Role and Database are what the services connect as and to.
const (
	Role     = "exekra"
	Database = "exekra"
)

// maxSocketPath is the longest Unix socket path Linux accepts (sun_path less its NUL).
const maxSocketPath = 107

// Config places one cluster.
type Config struct {
	VarDir   string // <home>/var: holds pg/, pg-socket/ and pg-password
	Listen   string // host:port of database.private_listen
	Programs Programs
	Owner    *Owner   // nil: run as the supervisor's own user
	Env      []string // environment of initdb and postgres
}

// Cluster is the private PostgreSQL of one install dir.
type Cluster struct {
	cfg           Config
	dataDir       string
	socketDir     string
	passwordFile  string
	host          string
	port          int
	password      string
	resetPassword bool // the cluster exists but its password file was lost
}

// New checks cfg and lays out the cluster's paths.
func New(cfg Config) (*Cluster, error) {
	host, portStr, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("database.private_listen %q is not a host:port address", cfg.Listen)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port <= 0 || port > 65535 {
		return nil, fmt.Errorf("database.private_listen %q: the port must be 1-65535", cfg.Listen)
	}
	c := &Cluster{
		cfg: cfg, host: host, port: port,
		dataDir:      filepath.Join(cfg.VarDir, "pg"),
		socketDir:    filepath.Join(cfg.VarDir, "pg-socket"),
		passwordFile: filepath.Join(cfg.VarDir, "pg-password"),
	}
	if sock := filepath.Join(c.socketDir, ".s.PGSQL."+portStr); len(sock) > maxSocketPath {
		return nil, fmt.Errorf("private PostgreSQL socket path %s is %d bytes, longer than the %d Linux allows: choose a shorter --home",
			sock, len(sock), maxSocketPath)
	}
	return c, nil
}

// CheckOS says whether the private cluster runs on goos (runtime.GOOS): it
// does not on Windows, where postgres.exe refuses an administrative account
// such as LocalSystem (only pg_ctl, which runs it in the background, drops
// the rights) and the supervisor reaches the cluster through a Unix socket.
func CheckOS(goos string) error {
	if goos == "windows" {
		return errors.New("the private PostgreSQL is not supported on Windows: set database.url (EXEKRA_DATABASE_URL, " +
			"or Install-ExekraHub.ps1 -DatabaseUrl) to an existing PostgreSQL server")
	}
	return nil
}

// DataDir is the cluster's data directory.
func (c *Cluster) DataDir() string { return c.dataDir }

// Prepare makes the directories, the password and, on first start, the
// cluster itself; initdb's output goes to out. It reports whether it ran initdb.
func (c *Cluster) Prepare(ctx context.Context, out io.Writer) (bool, error) {
	if err := c.makeDirs(); err != nil {
		return false, err
	}
	pw, fresh, err := loadOrCreatePassword(c.passwordFile)
	if err != nil {
		return false, err
	}
	c.password = pw
	exists, err := c.exists()
	if err != nil || exists {
		c.resetPassword = exists && fresh
		return false, err
	}
	return true, c.initdb(ctx, out)
}

func (c *Cluster) makeDirs() error {
	for _, dir := range []string{c.dataDir, c.socketDir} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
	}
	if c.cfg.Owner == nil {
		return nil
	}
	if err := c.cfg.Owner.checkReachable(c.cfg.VarDir); err != nil {
		return err
	}
	for _, dir := range []string{c.dataDir, c.socketDir} {
		if err := c.cfg.Owner.chownTree(dir); err != nil {
			return fmt.Errorf("private PostgreSQL: %w", err)
		}
	}
	return nil
}

// exists reports whether the data dir holds a cluster; a non-empty dir that
// holds none is an error rather than something to overwrite.
func (c *Cluster) exists() (bool, error) {
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return true, nil
	}
	entries, err := os.ReadDir(c.dataDir)
	if err != nil {
		return false, fmt.Errorf("private PostgreSQL: %w", err)
	}
	if len(entries) > 0 {
		return false, fmt.Errorf("%s is not empty but holds no PostgreSQL cluster (no PG_VERSION): move it away to create a new one", c.dataDir)
	}
	return false, nil
}

func (c *Cluster) initdb(ctx context.Context, out io.Writer) error {
	pwfile, err := c.writeInitPassword()
	if err != nil {
		return err
	}
	defer os.Remove(pwfile)
	cmd := exec.CommandContext(ctx, c.cfg.Programs.Initdb, "-D", c.dataDir, "-U", Role,
		"--auth-host=scram-sha-256", "--auth-local=trust", "--pwfile="+pwfile, "-E", "UTF8", "--locale=C")
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = c.cfg.Env, c.cfg.VarDir, out, out
	cmd.SysProcAttr = c.cfg.Owner.initdbAttr()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("initdb of the private PostgreSQL in %s failed: %w", c.dataDir, err)
	}
	return nil
}

// writeInitPassword writes the password where only initdb's user may read it.
func (c *Cluster) writeInitPassword() (string, error) {
	f, err := os.CreateTemp(c.cfg.VarDir, ".pg-initpw-*")
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL password file: %w", err)
	}
	_, werr := f.WriteString(c.password + "\n")
	cerr := f.Close()
	var oerr error
	if o := c.cfg.Owner; o != nil {
		oerr = os.Chown(f.Name(), int(o.UID), int(o.GID))
	}
	if err := errors.Join(werr, cerr, oerr); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("private PostgreSQL password file: %w", err)
	}
	return f.Name(), nil
}

// ServerArgs are the arguments of the postgres program, run in the foreground.
func (c *Cluster) ServerArgs() []string {
	listen := c.host
	if listen == "" {
		listen = "*"
	}
	return []string{"-D", c.dataDir, "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=" + listen, "-k", c.socketDir}
}

// URL is the services' connection string. It holds the password: never log it.
func (c *Cluster) URL() string {
	u := url.URL{
		Scheme: "postgres", User: url.UserPassword(Role, c.password),
		Host: net.JoinHostPort(listenaddr.DialHost(c.host), strconv.Itoa(c.port)),
		Path: "/" + Database, RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Addr is the TCP address clients dial, safe to log.
func (c *Cluster) Addr() string {
	return net.JoinHostPort(listenaddr.DialHost(c.host), strconv.Itoa(c.port))
}
