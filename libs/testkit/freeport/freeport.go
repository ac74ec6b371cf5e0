// Package freeport hands tests loopback ports nobody listens on. A port is
// free only until someone binds it, and the kernel may offer a port again as
// soon as the listener that found it closed: two servers of one test process
// asking at once could get the same one. Port never hands out one port
// twice in a process.
package freeport

import (
	"net"
	"strconv"
	"sync"
	"testing"
)

var handedOut sync.Map

// Port returns a loopback port that was free a moment ago and that no other
// caller in this process got.
func Port(t testing.TB) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("find a free port: %v", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if _, taken := handedOut.LoadOrStore(port, true); !taken {
			return port
		}
	}
}

// Addr is Port as a host:port address on 127.0.0.1.
func Addr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port(t)))
}
