package supervisor

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/redisdb"
	"github.com/exekra/hub/pilot/listenaddr"
	"github.com/exekra/hub/pilot/natsembed"
	"github.com/exekra/hub/pilot/pgcluster"
	"github.com/exekra/hub/pilot/programs"
)

// startNATS embeds the NATS server unless nats.url names one; it returns the URL for the services.
func (h *hub) startNATS() (string, error) {
	if h.cfg.NATS.URL != "" {
		h.log.Info("using the external NATS of nats.url")
		return h.cfg.NATS.URL, nil
	}
	store := h.cfg.Path(h.cfg.NATS.StoreDir)
	keys, err := busauth.EnsureKeys(h.cfg.Path(h.cfg.Hub.CredentialsDir))
	if err != nil {
		return "", err
	}
	srv, err := natsembed.Start(h.log, natsembed.Options{Listen: h.cfg.NATS.Listen, StoreDir: store, Keys: keys})
	if err != nil {
		return "", err
	}
	h.nats = srv
	h.stops = append(h.stops, func() {
		h.log.Info("stopping embedded NATS")
		srv.Shutdown()
	})
	h.log.Info("embedded NATS ready", "url", srv.URL(), "jetstream", srv.JetStreamEnabled(), "store_dir", store)
	return srv.URL(), nil
}

// redisDir is the bundled Redis's own directory in the install dir: its
// working and data dir, its ACL file (users.acl) and its log (redis.log). On
// Windows the ExekraHubRedis service keeps redis-server.exe there too.
const redisDir = "runtime/redis"

// startRedis runs the bundled redis-server (transient state only: no
// snapshots, no append-only file) and returns its URL. Every client logs in
// as a user of its own (redisdb.Users): the ACL file and the passwords are
// made at first start, and the default user is off. Its output goes to
// runtime/redis/redis.log, not to logs/ as the other children's does.
func (h *hub) startRedis(ctx context.Context, server string) (string, error) {
	host, port, err := net.SplitHostPort(h.cfg.Redis.Listen)
	if err != nil {
		return "", fmt.Errorf("redis.listen %q is not a host:port address", h.cfg.Redis.Listen)
	}
	dir := h.cfg.Path(redisDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("bundled Redis: %w", err)
	}
	creds := h.cfg.Path(h.cfg.Hub.CredentialsDir)
	aclfile := filepath.Join(dir, "users.acl")
	if err := redisdb.EnsureACL(creds, aclfile); err != nil {
		return "", fmt.Errorf("bundled Redis: %w", err)
	}
	password, err := redisdb.Password(creds, redisdb.Hub)
	if err != nil {
		return "", fmt.Errorf("bundled Redis: %w", err)
	}
	bind := host
	if bind == "" {
		bind = "0.0.0.0"
	}
	addr := net.JoinHostPort(listenaddr.DialHost(host), port)
	_, err = h.startChild(ctx, Spec{
		Name: "redis", Path: server, Env: config.WithoutSettings(h.environ), Dir: dir, LogFile: filepath.Join(dir, "redis.log"),
		Args: []string{"--bind", bind, "--port", port, "--save", "", "--appendonly", "no", "--dir", dir,
			"--protected-mode", "yes", "--daemonize", "no", "--logfile", "", "--aclfile", aclfile},
		Probe: redisPing(addr, password),
	}, 15*time.Second)
	if err != nil {
		return "", fmt.Errorf("bundled Redis: %w", err)
	}
	return "redis://" + addr + "/0", nil
}

// redisPing logs in as the hub user over a raw connection, sends PING and
// expects +PONG.
func redisPing(addr, password string) Probe {
	return func(ctx context.Context) error {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		defer conn.Close()
		if deadline, ok := ctx.Deadline(); ok {
			conn.SetDeadline(deadline)
		}
		if _, err := fmt.Fprintf(conn, "AUTH %s %s\r\nPING\r\n", redisdb.Hub, password); err != nil {
			return err
		}
		r := bufio.NewReader(conn)
		for _, want := range []string{"+OK", "+PONG"} {
			line, err := r.ReadString('\n')
			if err != nil {
				return err
			}
			if !strings.HasPrefix(line, want) {
				return fmt.Errorf("Redis answered %q, want %s", strings.TrimSpace(line), want)
			}
		}
		return nil
	}
}

// startPostgres runs the private cluster (created on first start) and
// returns the services' connection string, which holds its password.
func (h *hub) startPostgres(ctx context.Context, progs pgcluster.Programs) (string, error) {
	var owner *pgcluster.Owner
	if os.Geteuid() == 0 {
		var err error
		pathList := programs.PathList(h.environ)
		if owner, err = pgcluster.EnsureOwner(ctx, h.log, h.cfg.Database.PrivateOSUser, pathList); err != nil {
			return "", err
		}
	}
	cl, err := pgcluster.New(pgcluster.Config{VarDir: h.cfg.Path("var"), Listen: h.cfg.Database.PrivateListen,
		Programs: progs, Owner: owner, Env: config.WithoutSettings(h.environ)})
	if err != nil {
		return "", err
	}
	logFile := h.logFile("postgres")
	created, err := prepareCluster(ctx, cl, logFile)
	if err != nil {
		return "", err
	}
	if created {
		h.log.Info("created the private PostgreSQL cluster", "data_dir", cl.DataDir(), "initdb", progs.Initdb)
	}
	_, err = h.startChild(ctx, Spec{Name: "postgres", Path: progs.Postgres, Args: cl.ServerArgs(),
		Env: config.WithoutSettings(h.environ), Dir: h.cfg.Path("var"), LogFile: logFile, Credential: credentialOf(owner),
		StopSignal: syscall.SIGINT, // fast shutdown: roll back open transactions, stop at once
		Probe:      cl.Ping}, 60*time.Second)
	if err != nil {
		return "", fmt.Errorf("private PostgreSQL: %w", err)
	}
	if err := cl.AfterStart(ctx); err != nil {
		return "", err
	}
	h.log.Info("private PostgreSQL ready", "addr", cl.Addr(), "data_dir", cl.DataDir(), "database", pgcluster.Database)
	return cl.URL(), nil
}

// credentialOf runs a child as the cluster's owner; nil: as the supervisor's user.
func credentialOf(o *pgcluster.Owner) *Credential {
	if o == nil {
		return nil
	}
	return &Credential{UID: o.UID, GID: o.GID}
}

// prepareCluster runs Prepare with initdb's output in the postgres log.
func prepareCluster(ctx context.Context, cl *pgcluster.Cluster, logFile string) (bool, error) {
	out, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return false, fmt.Errorf("private PostgreSQL: %w", err)
	}
	defer out.Close()
	created, err := cl.Prepare(ctx, out)
	if err != nil {
		return false, fmt.Errorf("%w (see %s)", err, logFile)
	}
	return created, nil
}

// startServices starts every service in order, then waits for all to be ready.
func (h *hub) startServices(ctx context.Context, svcs []service, overrides map[string]string) error {
	env := serviceEnv(h.environ, overrides)
	var children []*Child
	for _, s := range svcs {
		probe, err := livezProbe(s.metricsAddr)
		if err != nil {
			return fmt.Errorf("%s: %w", s.metricsKey, err)
		}
		ready, err := readyzProbe(s.metricsAddr)
		if err != nil {
			return fmt.Errorf("%s: %w", s.metricsKey, err)
		}
		c, err := h.startChild(ctx, Spec{Name: s.name, Path: s.binary, Args: []string{"--home", h.cfg.Home},
			Env: env, Dir: h.cfg.Home, LogFile: h.logFile(s.name), Probe: probe, Ready: ready}, 0)
		if err != nil {
			return err
		}
		children = append(children, c)
	}
	return waitAllReady(ctx, children, 2*h.cfg.Database.ConnectTimeout.D()+30*time.Second)
}

// waitAllReady waits for the children side by side; the first failure (in
// start order) stops the wait and is returned.
func waitAllReady(ctx context.Context, children []*Child, timeout time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(children))
	var wg sync.WaitGroup
	for i, c := range children {
		wg.Go(func() {
			if errs[i] = c.WaitReady(ctx, timeout); errs[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return ctx.Err()
}
