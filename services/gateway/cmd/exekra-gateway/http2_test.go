package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// TestHTTP2HeaderTables is a client that sends two requests at once, before
// it has read the server's SETTINGS, its header encoder on the protocol's
// default 4,096-byte table (RFC 9113 6.5.2: a lower size holds only once
// acknowledged); the second request refers to headers the first indexed,
// more than 256 bytes of them. Both must be answered: a server decoding with
// a smaller table from the start tore the connection down
// (COMPRESSION_ERROR), under load many agents' connections at once. The
// server's own encoder keeps to headerTableSize bytes: its first answer
// starts with that dynamic table size update (RFC 7541 6.3).
func TestHTTP2HeaderTables(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
	}))
	srv.Config.HTTP2 = http2Config()
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(conn, conn)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, stream := range []uint32{1, 3} {
		block.Reset()
		for _, f := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "https"},
			{Name: ":authority", Value: "hub.test"}, {Name: ":path", Value: "/"},
			{Name: "x-claim-a", Value: strings.Repeat("a", 200)}, {Name: "x-claim-b", Value: strings.Repeat("b", 200)}} {
			if err := enc.WriteField(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
			t.Fatal(err)
		}
	}
	var first []byte // the server's first header block
	answered := map[uint32]bool{}
	for len(answered) < 2 {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("after %d answers: %v", len(answered), err)
		}
		switch f := f.(type) {
		case *http2.GoAwayFrame:
			t.Fatalf("the server closed the connection: GOAWAY %v", f.ErrCode)
		case *http2.RSTStreamFrame:
			t.Fatalf("the server reset stream %d: %v", f.StreamID, f.ErrCode)
		case *http2.HeadersFrame:
			if first == nil {
				first = bytes.Clone(f.HeaderBlockFragment())
			}
			answered[f.StreamID] = true
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		}
	}
	// A dynamic table size update is 001xxxxx with a 5-bit prefixed integer.
	if len(first) == 0 || first[0]&0xe0 != 0x20 {
		t.Fatalf("the first answer's header block %x does not start with a table size update", first)
	}
	size, rest := uint64(first[0]&0x1f), first[1:]
	if size == 0x1f {
		for shift := 0; len(rest) > 0; shift += 7 {
			b := rest[0]
			rest = rest[1:]
			size += uint64(b&0x7f) << shift
			if b&0x80 == 0 {
				break
			}
		}
	}
	if size != headerTableSize {
		t.Fatalf("the server's encoder table is %d bytes, want %d", size, headerTableSize)
	}
}
