package e2e

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/exekra/hub/libs/caller"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/logger"
	"github.com/exekra/hub/libs/migrate"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/exekra/hub/libs/outbox"
	"github.com/exekra/hub/libs/sqldb"
	"github.com/exekra/hub/libs/testkit/freeport"
	"github.com/exekra/hub/libs/testkit/natstest"
	"github.com/exekra/hub/libs/testkit/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats-server/v2/server"
)

// natsNode is an in-process NATS server that can be stopped and started again
// on the same port and JetStream store, as a crashed node would come back.
type natsNode struct {
	t    testing.TB
	port int
	dir  string
	srv  *server.Server
}

func newNATSNode(t testing.TB) *natsNode {
	_, portStr, _ := net.SplitHostPort(freeport.Addr(t))
	port, _ := strconv.Atoi(portStr)
	n := &natsNode{t: t, port: port, dir: t.TempDir()}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsNode) start() {
	n.t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: n.port, JetStream: true, StoreDir: n.dir, NoSigs: true})
	if err != nil {
		n.t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("NATS did not start")
	}
	n.srv = srv
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// process runs one service binary with its own install dir and, like a
// supervisor, starts it again whenever it exits until the test ends.
type process struct {
	t       testing.TB
	bin     string
	home    string
	env     []string
	out     syncBuffer
	mu      sync.Mutex
	cmd     *exec.Cmd
	stopped atomic.Bool
}

func startProcess(t testing.TB, binary, home string, env []string) *process {
	p := &process{t: t, bin: filepath.Join(binDir, binary), home: home, env: env}
	done := make(chan struct{})
	go p.supervise(done)
	t.Cleanup(func() {
		p.stopped.Store(true)
		p.signal(syscall.SIGKILL)
		<-done
	})
	return p
}

func (p *process) supervise(done chan<- struct{}) {
	defer close(done)
	for !p.stopped.Load() {
		cmd := exec.Command(p.bin, "--home", p.home)
		cmd.Env = p.env
		cmd.Stdout, cmd.Stderr = &p.out, &p.out
		p.mu.Lock()
		p.cmd = cmd
		err := cmd.Start()
		p.mu.Unlock()
		if err == nil {
			cmd.Wait()
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// signal sends sig to the running instance.
func (p *process) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		p.cmd.Process.Signal(sig)
	}
}

// burstProducer is a test-only service that writes audit events through a
// real outbox (schema burst) and runs the real relay.
type burstProducer struct {
	pool   *pgxpool.Pool
	writer outbox.Writer
}

func newBurstProducer(t testing.TB, ctx context.Context, dbURL string, rpc *natsrpc.Client) *burstProducer {
	t.Helper()
	pool, err := sqldb.Open(ctx, dbURL, "burst", 8, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := migrate.Apply(ctx, pool, "burst", []migrate.File{outbox.Migration(1000)}); err != nil {
		t.Fatal(err)
	}
	log := logger.NewWriter(os.Stderr, "burst", slog.LevelError)
	relay, err := outbox.NewRelay(pool, rpc.Conn(), rpc, "burst", log)
	if err != nil {
		t.Fatal(err)
	}
	go relay.Run(ctx)
	return &burstProducer{pool: pool, writer: outbox.Writer{Service: "burst"}}
}

// produce writes n events, size per transaction, calling tick after each.
func (b *burstProducer) produce(ctx context.Context, n, size int, tick func(done int)) error {
	for done := 0; done < n; done += size {
		err := pgx.BeginFunc(ctx, b.pool, func(tx pgx.Tx) error {
			for i := done; i < min(done+size, n); i++ {
				ev := audit.Event{Action: "test.burst", Target: audit.Target{Type: "n", ID: strconv.Itoa(i)}}
				if _, err := b.writer.Append(ctx, tx, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		tick(min(done+size, n))
	}
	return nil
}

func countBurst(ctx context.Context, pool *pgxpool.Pool) (logged, pending int64) {
	pool.QueryRow(ctx, "SELECT count(*) FROM audit.audit_log WHERE action = 'test.burst'").Scan(&logged)
	pool.QueryRow(ctx, "SELECT count(*) FROM burst.audit_outbox").Scan(&pending)
	return logged, pending
}

// TestAuditSurvivesCrashesDuringABurst kills the audit service with SIGKILL,
// then restarts NATS, during a burst of 10,000 audited actions: afterwards the
// log holds exactly 10,000 new events and the chain verifies.
func TestAuditSurvivesCrashesDuringABurst(t *testing.T) {
	const total = 10000
	ctx := ctxT(t, 5*time.Minute)
	dbURL := pgtest.New(t)
	node := newNATSNode(t)
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "config"), 0o755)
	os.WriteFile(filepath.Join(home, config.FileName), []byte("{}"), 0o644)
	env := append(os.Environ(), "EXEKRA_DATABASE_URL="+dbURL, "EXEKRA_NATS_URL="+node.url(),
		"EXEKRA_AUDIT_METRICS_LISTEN="+freeport.Addr(t), "EXEKRA_AUDIT_CHECKPOINT_INTERVAL=1s", "EXEKRA_LOG_LEVEL=warn")
	auditSvc := startProcess(t, "exekra-audit", home, env)

	rpc := natsrpc.NewClient(natstest.Connect(t, node.url()), nil)
	owner, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(owner.Close)
	waitFor(t, 30*time.Second, "audit service ready", func() bool {
		_, err := natsrpc.Call[audit.ConfirmResponse](ctx, rpc, audit.SubjectConfirm, audit.ConfirmRequest{})
		return err == nil
	})
	producer := newBurstProducer(t, ctx, dbURL, rpc)

	var killedAudit, restartedNATS atomic.Bool
	start := time.Now()
	err = producer.produce(ctx, total, 10, func(done int) {
		switch {
		case done >= 2000 && !killedAudit.Load():
			killedAudit.Store(true)
			auditSvc.signal(syscall.SIGKILL) // comes back by itself, as under the supervisor
		case done >= 6000 && !restartedNATS.Load():
			restartedNATS.Store(true)
			node.stop()
			time.Sleep(2 * time.Second)
			node.start()
		}
	})
	if err != nil {
		t.Fatalf("burst: %v", err)
	}
	produced := time.Since(start)
	waitFor(t, 3*time.Minute, "all events in the log and the outbox empty", func() bool {
		logged, pending := countBurst(ctx, owner)
		if time.Since(start) > 150*time.Second {
			t.Logf("logged %d pending %d; audit output:\n%s", logged, pending, tail(auditSvc.out.String(), 4000))
		}
		return logged >= total && pending == 0
	})
	elapsed := time.Since(start)
	logged, _ := countBurst(ctx, owner)
	if logged != total {
		t.Fatalf("audit log holds %d burst events, want exactly %d", logged, total)
	}
	admin := caller.With(ctx, caller.Info{Actor: caller.Actor{Type: "user", ID: "test", Role: "ADMIN"}})
	v, err := natsrpc.Call[audit.VerifyResponse](admin, rpc, audit.SubjectVerify, audit.VerifyRequest{})
	if err != nil || !v.OK || v.Checked != total {
		t.Fatalf("verify = %+v, %v", v, err)
	}
	t.Logf("10,000 events through SIGKILL of audit and a NATS restart: produced in %.1fs, all chained after %.1fs (%.0f events/s end to end)",
		produced.Seconds(), elapsed.Seconds(), total/elapsed.Seconds())

	t.Run("sustained throughput without faults", func(t *testing.T) {
		start := time.Now()
		var maxLag time.Duration
		if err := producer.produce(ctx, total, 10, func(int) {}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 2*time.Minute, "the second burst chained", func() bool {
			var oldest *time.Time
			owner.QueryRow(ctx, "SELECT min(created_at) FROM burst.audit_outbox").Scan(&oldest)
			if oldest != nil {
				maxLag = max(maxLag, time.Since(*oldest))
			}
			logged, pending := countBurst(ctx, owner)
			return logged == 2*total && pending == 0
		})
		t.Logf("10,000 events from outbox to chained rows in %.1fs: %.0f events/s; largest outbox age seen %.1fs",
			time.Since(start).Seconds(), total/time.Since(start).Seconds(), maxLag.Seconds())
	})
}

func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's writers and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
