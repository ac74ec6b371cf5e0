package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/pgcluster"
	"github.com/exekra/hub/pilot/programs"
)

// privateServer is the install's private PostgreSQL, run by restore while
// the Hub is stopped: created (initdb) as the supervisor would on a first
// start, with the same data dir, password file, port and system user, so
// the supervisor simply finds it on its next start.
type privateServer struct {
	cmd    *exec.Cmd
	exited chan struct{}
	url    string
	log    string
}

func startPrivate(ctx context.Context, cfg *config.Config, environ []string) (*privateServer, error) {
	pathList := programs.PathList(environ)
	progs, err := pgcluster.FindPrograms(pathList, pgcluster.DebianRoot)
	if err != nil {
		return nil, err
	}
	var owner *pgcluster.Owner
	if os.Geteuid() == 0 {
		quiet := slog.New(slog.DiscardHandler)
		if owner, err = pgcluster.EnsureOwner(ctx, quiet, cfg.Database.PrivateOSUser, pathList); err != nil {
			return nil, err
		}
	}
	env := config.WithoutSettings(environ)
	varDir := cfg.Path("var")
	cl, err := pgcluster.New(pgcluster.Config{VarDir: varDir, Listen: cfg.Database.PrivateListen, Programs: progs, Owner: owner, Env: env})
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(cfg.Path(cfg.Log.Dir), "service-postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	defer logFile.Close() // the child holds its own descriptor
	if _, err := cl.Prepare(ctx, logFile); err != nil {
		return nil, fmt.Errorf("%w (see %s)", err, logPath)
	}
	// The supervisor, maybe another user than this restore, appends to the
	// log and reads the password next.
	if err := errors.Join(chownLike(logPath, filepath.Dir(logPath)),
		chownLike(filepath.Join(varDir, "pg-password"), varDir)); err != nil {
		return nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	cmd := exec.Command(progs.Postgres, cl.ServerArgs()...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, varDir, logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: owner.Credential(), Pdeathsig: syscall.SIGINT}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("private PostgreSQL: %w", err)
	}
	p := &privateServer{cmd: cmd, exited: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); close(p.exited) }()
	if err := p.waitReady(ctx, cl); err != nil {
		p.stop()
		return nil, err
	}
	if err := cl.AfterStart(ctx); err != nil {
		p.stop()
		return nil, err
	}
	p.url = cl.URL()
	return p, nil
}

func (p *privateServer) waitReady(ctx context.Context, cl *pgcluster.Cluster) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := cl.Ping(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("private PostgreSQL exited at start (see %s)", p.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("private PostgreSQL did not answer within 60s: %v (see %s)", err, p.log)
		}
	}
}

// stop shuts the server down (fast: SIGINT) and waits for it.
func (p *privateServer) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}
