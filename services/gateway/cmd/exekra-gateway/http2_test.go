package main

import (
	"crypto/tls"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestHTTP2HeaderTable checks that a gateway connection announces the small
// HPACK table (SETTINGS_HEADER_TABLE_SIZE, RFC 9113 6.5.2) that keeps a
// connected runner's memory down, and still serves HTTP/2.
func TestHTTP2HeaderTable(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Proto", r.Proto)
	}))
	srv.Config.HTTP2 = http2Config()
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("X-Proto"); got != "HTTP/2.0" {
		t.Fatalf("served as %q, want HTTP/2.0", got)
	}

	conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	// The server's first frame is its SETTINGS: a 9-byte header, then
	// 6-byte entries (16-bit id, 32-bit value).
	var head [9]byte
	if _, err := io.ReadFull(conn, head[:]); err != nil {
		t.Fatal(err)
	}
	length := int(head[0])<<16 | int(head[1])<<8 | int(head[2])
	if head[3] != 0x4 {
		t.Fatalf("first frame is of type %d, want SETTINGS (4)", head[3])
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(conn, body); err != nil {
		t.Fatal(err)
	}
	const settingHeaderTableSize = 0x1
	for i := 0; i+6 <= len(body); i += 6 {
		if binary.BigEndian.Uint16(body[i:]) == settingHeaderTableSize {
			if got := binary.BigEndian.Uint32(body[i+2:]); got != headerTableSize {
				t.Fatalf("SETTINGS_HEADER_TABLE_SIZE = %d, want %d", got, headerTableSize)
			}
			return
		}
	}
	t.Fatalf("SETTINGS %x has no SETTINGS_HEADER_TABLE_SIZE (the default 4096 would apply)", body)
}
