//go:build linux

package pgcluster

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/pilot/programs"
	"github.com/jackc/pgx/v5"
)

// traversableDir is a temporary directory whose every ancestor the cluster's
// unprivileged user may enter (t.TempDir makes 0700 directories).
func traversableDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newTestCluster prepares a cluster as the supervisor does, as user exekra when root.
func newTestCluster(t *testing.T, ctx context.Context, varDir, listen string) *Cluster {
	t.Helper()
	pathList := programs.PathList(os.Environ())
	progs, err := FindPrograms(pathList, DebianRoot)
	if err != nil {
		t.Skipf("PostgreSQL is not installed: %v", err)
	}
	var owner *Owner
	if os.Geteuid() == 0 {
		if owner, err = EnsureOwner(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), "exekra", pathList); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := New(Config{VarDir: varDir, Listen: listen, Programs: progs, Owner: owner, Env: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// runServer starts postgres in the foreground and stops it (fast shutdown) when t ends.
func runServer(t *testing.T, cl *Cluster, log io.Writer) {
	t.Helper()
	cmd := exec.Command(cl.cfg.Programs.Postgres, cl.ServerArgs()...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = cl.cfg.Env, cl.cfg.VarDir, log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cl.cfg.Owner.Credential(), Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	})
}

func waitPing(t *testing.T, ctx context.Context, cl *Cluster) {
	t.Helper()
	for {
		if err := cl.Ping(ctx); err == nil {
			return
		} else if ctx.Err() != nil {
			t.Fatalf("private PostgreSQL never answered: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func whoAmI(ctx context.Context, url string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	var who string
	err = conn.QueryRow(ctx, "SELECT current_user || '@' || current_database()").Scan(&who)
	return who, err
}

func TestPrivateCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	varDir := filepath.Join(traversableDir(t), "var")
	os.Mkdir(varDir, 0o755)
	cl := newTestCluster(t, ctx, varDir, freeAddr(t))
	var out bytes.Buffer
	created, err := cl.Prepare(ctx, &out)
	if err != nil || !created {
		t.Fatalf("Prepare = %v, %v; want the cluster created\n%s", created, err, out.String())
	}
	if o := cl.cfg.Owner; o != nil {
		info, _ := os.Stat(cl.DataDir())
		if st := info.Sys().(*syscall.Stat_t); st.Uid != o.UID {
			t.Fatalf("data dir owned by uid %d, want %s (%d)", st.Uid, o.Name, o.UID)
		}
	}
	runServer(t, cl, &out)
	waitPing(t, ctx, cl)
	if err := cl.AfterStart(ctx); err != nil {
		t.Fatal(err)
	}
	if who, err := whoAmI(ctx, cl.URL()); err != nil || who != "exekra@exekra" {
		t.Fatalf("services' URL connects as %q, %v; want exekra@exekra", who, err)
	}

	t.Run("a wrong password is refused over TCP", func(t *testing.T) {
		bad := strings.Replace(cl.URL(), cl.password, "wrong", 1)
		if _, err := whoAmI(ctx, bad); err == nil {
			t.Fatal("connected with a wrong password")
		}
	})

	t.Run("a second start reuses the cluster and its password", func(t *testing.T) {
		again := newTestCluster(t, ctx, varDir, cl.cfg.Listen)
		if created, err := again.Prepare(ctx, &out); err != nil || created {
			t.Fatalf("Prepare = %v, %v; want the existing cluster", created, err)
		}
		if again.URL() != cl.URL() {
			t.Fatal("the password changed between starts")
		}
	})

	t.Run("a lost password file gets a new password", func(t *testing.T) {
		os.Remove(filepath.Join(varDir, "pg-password"))
		again := newTestCluster(t, ctx, varDir, cl.cfg.Listen)
		if _, err := again.Prepare(ctx, &out); err != nil {
			t.Fatal(err)
		}
		if err := again.AfterStart(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := whoAmI(ctx, again.URL()); err != nil {
			t.Fatalf("new password refused: %v", err)
		}
		if _, err := whoAmI(ctx, cl.URL()); err == nil {
			t.Fatal("the old password still works")
		}
	})
}

func TestPrepareRefusesAForeignDataDir(t *testing.T) {
	varDir := filepath.Join(traversableDir(t), "var")
	os.MkdirAll(filepath.Join(varDir, "pg"), 0o755)
	os.WriteFile(filepath.Join(varDir, "pg", "notes.txt"), []byte("mine"), 0o644)
	cl := newTestCluster(t, context.Background(), varDir, freeAddr(t))
	_, err := cl.Prepare(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("Prepare = %v, want a refusal to touch a non-empty foreign dir", err)
	}
}

func TestUnreachableDataDirIsExplained(t *testing.T) {
	locked := filepath.Join(t.TempDir(), "locked")
	os.MkdirAll(filepath.Join(locked, "var"), 0o700)
	o := &Owner{Name: "nobody-here", UID: 54321, GID: 54321}
	err := o.checkReachable(filepath.Join(locked, "var"))
	if err == nil || !strings.Contains(err.Error(), "cannot enter") || !strings.Contains(err.Error(), "chmod o+x") {
		t.Fatalf("checkReachable = %v, want an explanation with the fix", err)
	}
}

func TestNewRefusesTooLongSocketPath(t *testing.T) {
	_, err := New(Config{VarDir: "/" + strings.Repeat("d", 120), Listen: "127.0.0.1:15432"})
	if err == nil || !strings.Contains(err.Error(), "shorter --home") {
		t.Fatalf("New = %v, want a socket path error", err)
	}
}
