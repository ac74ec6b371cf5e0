package daemon

import (
	"log/slog"
	"net"
	"testing"
	"time"
)

func TestMaxConnections(t *testing.T) {
	for _, tc := range []struct {
		limit uint64
		want  int
	}{
		{0, 0},                // unknown: no cap
		{65536, 65536 - 1024}, // the systemd units' LimitNOFILE
		{20000, 20000 - 1024},
		{1024, 768}, // a quarter kept under a small limit
		{8, 6},
	} {
		if got := maxConnections(tc.limit); got != tc.want {
			t.Errorf("maxConnections(%d) = %d; want %d", tc.limit, got, tc.want)
		}
	}
}

// With the connections at the cap, the next client is not accepted until
// one of them closes: the process keeps its reserve of files.
func TestLimitConnectionsHoldsTheReserve(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitConnections(inner, 8, slog.New(slog.DiscardHandler)) // 6 connections at once
	defer ln.Close()
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	for range 7 {
		c, err := net.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	var served []net.Conn
	for range 6 {
		select {
		case c := <-accepted:
			served = append(served, c)
		case <-time.After(5 * time.Second):
			t.Fatalf("only %d of the 6 connections the cap allows were accepted", len(served))
		}
	}
	select {
	case <-accepted:
		t.Fatal("a 7th connection was accepted beyond the cap of 6")
	case <-time.After(200 * time.Millisecond):
	}
	served[0].Close()
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("the 7th connection was not accepted after one of the 6 closed")
	}
	for _, c := range served[1:] {
		c.Close()
	}
}
