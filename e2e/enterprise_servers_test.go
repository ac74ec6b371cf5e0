package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	osuser "os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// serverProc is one server program (nats-server, redis-server) run by the
// test, which can be killed and started again on the same port and data.
type serverProc struct {
	t      testing.TB
	name   string
	path   string
	args   []string
	out    *syncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
}

func (p *serverProc) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.path, p.args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	p.exited = exited
	cmd := p.cmd
	go func() { cmd.Wait(); close(exited) }()
}

// kill sends SIGKILL and waits until the process is gone.
func (p *serverProc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Kill()
	<-p.exited
}

func (p *serverProc) running() bool {
	if p.exited == nil {
		return false
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// clusterNode is one node of the three-node NATS cluster, configured by
// deploy/enterprise/nats/nats-N.conf.
type clusterNode struct {
	serverProc
	n                      int
	client, route, monitor string
}

// startNATSCluster renders the three node configs with the test's ports,
// store dirs and certificate (one for 127.0.0.1, its own CA, for clients and
// routes) and runs the Debian nats-server on each. The authorization block
// exekractl credentials wrote must be in dir/nats/authorization.conf.
func startNATSCluster(t *testing.T, dir, cert, key string) []*clusterNode {
	t.Helper()
	bin := "/usr/sbin/nats-server"
	if _, err := os.Stat(bin); err != nil {
		if bin, err = exec.LookPath("nats-server"); err != nil {
			t.Fatal("nats-server is not installed: apt-get install nats-server (deploy/scripts/debian-deps.sh test does)")
		}
	}
	nodes := make([]*clusterNode, 3)
	for i := range nodes {
		nodes[i] = &clusterNode{n: i + 1, client: serverPort(t), route: serverPort(t), monitor: serverPort(t)}
	}
	for _, node := range nodes {
		store := filepath.Join(dir, fmt.Sprintf("nats-%d", node.n))
		sub := substitution{
			"0.0.0.0:4222": node.client, "0.0.0.0:6222": node.route, "0.0.0.0:8222": node.monitor,
			"/var/lib/nats": store, "/etc/nats/node.crt": cert, "/etc/nats/node.key": key, "/etc/nats/ca.crt": cert,
		}
		for _, other := range nodes {
			sub[fmt.Sprintf("nats-%d.hub.example:6222", other.n)] = other.route
		}
		name := fmt.Sprintf("nats-%d.conf", node.n)
		conf := sub.render(t, name, readLayoutFile(t, "nats", name))
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		node.serverProc = serverProc{t: t, name: fmt.Sprintf("nats-%d", node.n), path: bin, args: []string{"-c", file}, out: &syncBuffer{}}
		node.start()
		t.Cleanup(func() {
			node.kill()
			if t.Failed() {
				t.Logf("%s output (tail):\n%s", node.name, tail(node.out.String(), 2000))
			}
		})
	}
	for _, node := range nodes {
		node.waitJetStream(t, 20*time.Second)
	}
	return nodes
}

// jsz is the part of the monitoring endpoint /jsz the test reads.
type jsz struct {
	Meta *struct {
		Leader      string `json:"leader"`
		ClusterSize int    `json:"cluster_size"`
	} `json:"meta_cluster"`
}

// waitJetStream waits until the node answers /healthz and knows the
// cluster's JetStream meta leader.
func (n *clusterNode) waitJetStream(t testing.TB, within time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	waitFor(t, within, n.name+" in a JetStream cluster with a leader", func() bool {
		if !n.running() {
			t.Fatalf("%s exited:\n%s", n.name, tail(n.out.String(), 2000))
		}
		resp, err := client.Get("http://" + n.monitor + "/jsz")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var z jsz
		if json.NewDecoder(resp.Body).Decode(&z) != nil || z.Meta == nil {
			return false
		}
		return z.Meta.Leader != "" && z.Meta.ClusterSize == 3
	})
}

// startRedis runs redis-server with deploy/enterprise/redis/redis.conf, its
// ACL file the one exekractl credentials wrote.
func startRedis(t *testing.T, dir, aclFile string) (*serverProc, string) {
	t.Helper()
	addr := serverPort(t)
	host, port, _ := net.SplitHostPort(addr)
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed: apt-get install redis-server")
	}
	sub := substitution{"bind 10.20.0.7": "bind " + host, "port 6379": "port " + port,
		"/etc/redis/users.acl": aclFile, "/var/lib/redis": dir}
	conf := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(conf, []byte(sub.render(t, "redis.conf", readLayoutFile(t, "redis", "redis.conf"))), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{t: t, name: "redis", path: bin, out: &syncBuffer{}, args: []string{conf}}
	p.start()
	t.Cleanup(p.kill)
	waitRedis(t, p, addr)
	return p, addr
}

func waitRedis(t testing.TB, p *serverProc, addr string) {
	t.Helper()
	waitFor(t, 10*time.Second, "redis-server", func() bool {
		if !p.running() {
			t.Fatalf("redis-server exited:\n%s", p.out.String())
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

// pgServer is a PostgreSQL cluster of the test's own, made with initdb and
// run with pg_ctl, serving TLS on a free loopback port.
type pgServer struct {
	t        testing.TB
	bin      string // the PostgreSQL programs
	dir      string // data/, sock/, the certificate, the log
	addr     string // 127.0.0.1:port
	caFile   string // its self-signed certificate, which clients trust
	owner    *syscall.Credential
	ownerUID int
}

// startPostgres creates and starts the cluster. As root, PostgreSQL runs as
// the system user postgres (it refuses to run as root).
func startPostgres(t *testing.T) *pgServer {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("PostgreSQL is not installed: apt-get install postgresql")
	}
	sort.Slice(bins, func(i, j int) bool { return versionOf(bins[i]) < versionOf(bins[j]) })
	dir, err := os.MkdirTemp("", "exekra-ent-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg := &pgServer{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, addr: serverPort(t), ownerUID: os.Getuid()}
	if os.Geteuid() == 0 {
		u, err := osuser.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the system user postgres: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		pg.owner, pg.ownerUID = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid
	}
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "sock")
	os.Mkdir(sock, 0o755)
	pg.caFile, _ = selfSigned(t, dir, "server", "127.0.0.1", "localhost")
	pwfile := filepath.Join(dir, "superuser.pw")
	os.WriteFile(pwfile, []byte(rand.Text()+"\n"), 0o600)
	for _, f := range []string{dir, sock, filepath.Join(dir, "server.key"), pwfile} {
		os.Chown(f, pg.ownerUID, -1)
	}
	pg.run(t, "initdb", "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth-local=trust",
		"--auth-host=scram-sha-256", "--pwfile="+pwfile, "-E", "UTF8", "--locale=C")
	conf := fmt.Sprintf(`
listen_addresses = '127.0.0.1'
port = %s
unix_socket_directories = '%s'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
ssl = on
ssl_cert_file = '%s'
ssl_key_file = '%s'
`, port(pg.addr), sock, filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	f, err := os.OpenFile(filepath.Join(dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	pg.run(t, "pg_ctl", "-D", filepath.Join(dir, "data"), "-l", filepath.Join(dir, "log"), "-w", "-t", "30", "start")
	t.Cleanup(func() {
		if t.Failed() {
			data, _ := os.ReadFile(filepath.Join(dir, "log"))
			t.Logf("postgres log (tail):\n%s", tail(string(data), 2000))
		}
		pg.pgctl("-m", "immediate", "-w", "stop")
	})
	return pg
}

// versionOf is the major version in /usr/lib/postgresql/<v>/bin/initdb.
func versionOf(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// command runs one of the PostgreSQL programs as the cluster's owner.
func (pg *pgServer) command(ctx context.Context, program string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(pg.bin, program), args...)
	cmd.Dir = pg.dir
	if pg.owner != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: pg.owner}
	}
	return cmd
}

func (pg *pgServer) run(t testing.TB, program string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := pg.command(ctx, program, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", program, args, err, out)
	}
}

// pgctl runs pg_ctl on the cluster; its output comes back with the error.
func (pg *pgServer) pgctl(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append([]string{"-D", filepath.Join(pg.dir, "data"), "-l", filepath.Join(pg.dir, "log")}, args...)
	if out, err := pg.command(ctx, "pg_ctl", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl %v: %w: %s", args, err, out)
	}
	return nil
}

// psql runs an SQL file through the Unix socket as the superuser, with
// variables (-v name=value).
func (pg *pgServer) psql(t testing.TB, file string, vars map[string]string) {
	t.Helper()
	args := []string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", filepath.Join(pg.dir, "sock"), "-p", port(pg.addr),
		"-U", "postgres", "-d", "postgres", "-f", file}
	for k, v := range vars {
		args = append(args, "-v", k+"="+v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(pg.bin, "psql"), args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("psql -f %s: %v\n%s", file, err, out)
	}
}

// url is the connection string of a login role to a database, verifying
// the server's certificate as the documented connection strings do.
func (pg *pgServer) url(role, password, db string) string {
	return fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=verify-full&sslrootcert=%s", role, password, pg.addr, db, pg.caFile)
}
