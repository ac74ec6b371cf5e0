package freeport_test

import (
	"net"
	"testing"

	"github.com/exekra/hub/libs/testkit/freeport"
)

func TestPortsAreFreeAndNeverRepeated(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p := freeport.Port(t)
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
	}
	addr := freeport.Addr(t)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("%s is not free: %v", addr, err)
	}
	ln.Close()
}
