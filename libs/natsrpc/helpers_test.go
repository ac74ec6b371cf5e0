package natsrpc_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/exekra/hub/libs/metrics"
	"github.com/exekra/hub/libs/natsrpc"
	"github.com/nats-io/nats.go"
)

// logBuffer is a concurrency-safe log sink tests can read back.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// running is one Serve call on its own goroutine.
type running struct {
	cancel context.CancelFunc
	done   chan error
	log    *logBuffer
	reg    *metrics.Registry
}

// stop ends the Serve call and returns its error.
func (r *running) stop(t testing.TB) error {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // later calls (and Cleanup) see it too
		return err
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return within 15s of its context ending")
		return nil
	}
}

// serve runs svc on nc until the test ends and waits until it answers pings.
func serve(t testing.TB, nc *nats.Conn, svc natsrpc.Service) *running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1), log: &logBuffer{}, reg: metrics.New(svc.Name)}
	log := slog.New(slog.NewJSONHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	before := countInstances(t, nc, svc.Name)
	go func() { r.done <- natsrpc.Serve(ctx, nc, log, r.reg, svc) }()
	t.Cleanup(func() { r.stop(t) })
	waitForInstances(t, nc, svc.Name, before+1)
	return r
}

// waitForInstances waits until n instances of service answer $SRV.PING.
func waitForInstances(t testing.TB, nc *nats.Conn, service string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for countInstances(t, nc, service) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances of %s did not come up within 10s", n, service)
		}
	}
}

// countInstances pings service and counts the replies that arrive within 100ms.
func countInstances(t testing.TB, nc *nats.Conn, service string) int {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.PublishRequest("$SRV.PING."+service, inbox, nil); err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err := sub.NextMsg(100 * time.Millisecond); err != nil {
			return n
		}
		n++
	}
}

func client(nc *nats.Conn) (*natsrpc.Client, *metrics.Registry) {
	reg := metrics.New("client")
	return natsrpc.NewClient(nc, reg), reg
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
