// Package listenaddr checks, before anything starts, that every address the
// Hub will listen on is free, and turns listen addresses into ones a local
// client can dial.
package listenaddr

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// Binding is one address a Hub process will listen on, named by its settings key.
type Binding struct {
	Key  string // e.g. nats.listen
	Addr string // host:port
}

// DialHost turns a listen host into one a local client can dial: the wildcard
// addresses become the loopback address of the same family.
func DialHost(host string) string {
	switch host {
	case "", "0.0.0.0":
		return "127.0.0.1"
	case "::":
		return "::1"
	}
	return host
}

// DialAddr is DialHost for a host:port address.
func DialAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%q is not a host:port address", addr)
	}
	return net.JoinHostPort(DialHost(host), port), nil
}

// CheckFree reports the first binding that cannot be listened on: two keys
// sharing a port, or an address another program holds. All addresses are
// bound at once and released before it returns.
func CheckFree(bindings []Binding) error {
	if err := checkOverlap(bindings); err != nil {
		return err
	}
	var held []net.Listener
	defer func() {
		for _, ln := range held {
			ln.Close()
		}
	}()
	for _, b := range bindings {
		ln, err := net.Listen("tcp", b.Addr)
		if err != nil {
			return fmt.Errorf("%s %s: %s", b.Key, b.Addr, reason(err))
		}
		held = append(held, ln)
	}
	return nil
}

// checkOverlap finds two keys that would listen on the same port of the same
// (or a wildcard) host.
func checkOverlap(bindings []Binding) error {
	for i, a := range bindings {
		ah, ap, err := net.SplitHostPort(a.Addr)
		if err != nil {
			return fmt.Errorf("%s: %q is not a host:port address", a.Key, a.Addr)
		}
		for _, b := range bindings[i+1:] {
			bh, bp, err := net.SplitHostPort(b.Addr)
			if err != nil || ap != bp || ap == "0" {
				continue
			}
			if ah == bh || isWildcard(ah) || isWildcard(bh) {
				return fmt.Errorf("%s %s and %s %s use the same port: give each its own", a.Key, a.Addr, b.Key, b.Addr)
			}
		}
	}
	return nil
}

func isWildcard(host string) bool { return host == "" || host == "0.0.0.0" || host == "::" }

// reason is the operating system's words for a failed listen ("address
// already in use"), without Go's "listen tcp ...: bind:" prefix.
func reason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}
