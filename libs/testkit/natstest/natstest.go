// Package natstest runs an in-process nats-server with JetStream for a test.
package natstest

import (
	"testing"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/busauth/natsserver"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Server starts a nats-server with JetStream on a random loopback port, its
// store in a temporary directory, and shuts it down when t ends.
func Server(t testing.TB) *server.Server {
	t.Helper()
	return start(t, nil)
}

// Secured starts a server (see Server) that lets in only the Hub's
// principals, each with its bus permissions (libs/busauth), and returns it
// with the credentials directory holding every principal's seed
// (busauth.SeedFile).
func Secured(t testing.TB) (*server.Server, string) {
	t.Helper()
	dir := t.TempDir()
	keys, err := busauth.EnsureKeys(dir)
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	return start(t, natsserver.Users(keys)), dir
}

// ConnectAs dials url as principal p with its seed in dir and closes the
// connection when t ends.
func ConnectAs(t testing.TB, url, dir string, p busauth.Principal) *nats.Conn {
	t.Helper()
	opts, _, err := busauth.ClientOptions(p, dir)
	if err != nil {
		t.Fatalf("natstest: %v", err)
	}
	nc, err := nats.Connect(url, append(opts, nats.Name(t.Name()+"-"+string(p)), nats.Timeout(5*time.Second))...)
	if err != nil {
		t.Fatalf("natstest: connect to %s as %s: %v", url, p, err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func start(t testing.TB, users []*server.NkeyUser) *server.Server {
	t.Helper()
	opts := &server.Options{
		ServerName: "natstest",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoLog:      true,
		NoSigs:     true,
		// Keep JetStream's reservations small: many tests run side by side.
		JetStreamMaxMemory: 64 << 20,
		JetStreamMaxStore:  256 << 20,
		Nkeys:              users,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("natstest: configure nats-server: %v", err)
	}
	s.Start()
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("natstest: nats-server did not accept connections within 10s")
	}
	return s
}

// URL starts a server (see Server) and returns its client URL.
func URL(t testing.TB) string {
	t.Helper()
	return Server(t).ClientURL()
}

// Conn starts a server (see Server) and returns a connection to it.
func Conn(t testing.TB) *nats.Conn {
	t.Helper()
	return Connect(t, URL(t))
}

// Connect dials url and closes the connection when t ends.
func Connect(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name(t.Name()), nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("natstest: connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	return nc
}
