// Package natsembed runs the pilot's NATS server with JetStream inside the
// supervisor's process, its log routed to slog.
package natsembed

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/exekra/hub/libs/busauth"
	"github.com/exekra/hub/libs/busauth/natsserver"
	"github.com/exekra/hub/pilot/listenaddr"
	"github.com/nats-io/nats-server/v2/server"
)

// Options configure the embedded server.
type Options struct {
	Listen   string // host:port; port 0 picks a free one
	StoreDir string // JetStream storage
	// MaxMemory and MaxStore cap JetStream; zero keeps the server's defaults.
	MaxMemory, MaxStore int64
	ReadyTimeout        time.Duration // default 10s
	// Keys are the public NKeys of the principals let in, each with its bus
	// permissions (libs/busauth); nobody else may connect.
	Keys map[busauth.Principal]string
}

// Server is a running embedded NATS server.
type Server struct {
	ns  *server.Server
	url string
}

// Start configures and starts the server and waits until it accepts clients.
func Start(log *slog.Logger, o Options) (*Server, error) {
	host, portStr, err := net.SplitHostPort(o.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats.listen %q: %w", o.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats.listen %q: port is not a number", o.Listen)
	}
	if len(o.Keys) == 0 {
		return nil, errors.New("embedded NATS: no keys to let anyone in")
	}
	if port == 0 {
		port = server.RANDOM_PORT // nats-server reads 0 as its default port 4222
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "exekra-hub", Host: host, Port: port,
		JetStream: true, StoreDir: o.StoreDir,
		JetStreamMaxMemory: o.MaxMemory, JetStreamMaxStore: o.MaxStore,
		NoSigs: true,
		Nkeys:  natsserver.Users(o.Keys),
	})
	if err != nil {
		return nil, fmt.Errorf("configure embedded NATS: %w", err)
	}
	ns.SetLoggerV2(slogAdapter{log.With("component", "nats")}, false, false, false)
	ns.Start()
	wait := o.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("nats.listen %s: embedded NATS did not accept connections within %s (see logs/hub-hub.log)", o.Listen, wait)
	}
	addr, ok := ns.Addr().(*net.TCPAddr)
	if !ok {
		ns.Shutdown()
		return nil, fmt.Errorf("embedded NATS: unexpected listener address %v", ns.Addr())
	}
	url := "nats://" + net.JoinHostPort(listenaddr.DialHost(host), strconv.Itoa(addr.Port))
	return &Server{ns: ns, url: url}, nil
}

// URL is the address clients connect to.
func (s *Server) URL() string { return s.url }

// Running reports whether the server runs and accepts clients now.
func (s *Server) Running() bool {
	return s.ns.Running() && s.ns.ReadyForConnections(100*time.Millisecond)
}

// JetStreamEnabled reports whether JetStream is running.
func (s *Server) JetStreamEnabled() bool { return s.ns.JetStreamEnabled() }

// Shutdown stops the server and waits until it has stopped.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

// slogAdapter is nats-server's Logger on slog. Notices are debug: the
// supervisor reports what matters itself.
type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Noticef(format string, v ...any) { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Warnf(format string, v ...any)   { a.log.Warn(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Fatalf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Errorf(format string, v ...any)  { a.log.Error(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Debugf(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
func (a slogAdapter) Tracef(format string, v ...any)  { a.log.Debug(fmt.Sprintf(format, v...)) }
