package daemon

import (
	"log/slog"
	"net"

	"golang.org/x/net/netutil"
)

// fileReserve is how many of the process's open files an HTTP service keeps
// for itself beyond its clients' connections: its logs, package uploads
// spooled to disk, its connections to NATS, PostgreSQL and Redis, and its
// metrics port. A quarter of a smaller limit.
const fileReserve = 1024

// maxConnections is how many connections an HTTP service accepts at once
// under an open-files limit of limit: limit minus the reserve, or 0 (no
// cap) when the limit is unknown.
func maxConnections(limit uint64) int {
	if limit == 0 {
		return 0
	}
	reserve := min(fileReserve, limit/4)
	return int(limit - reserve)
}

// limitConnections caps ln at maxConnections of limit, the process's
// open-files limit (openFilesLimit): a client beyond it waits in the listen
// backlog until another's connection closes, instead of the process
// running out of files for its own work (a package upload then failed, as
// could a reconnect to the bus).
func limitConnections(ln net.Listener, limit uint64, log *slog.Logger) net.Listener {
	n := maxConnections(limit)
	if n == 0 {
		return ln
	}
	log.Info("accepting a limited number of connections at once", "max_connections", n,
		"open_files_limit", limit, "kept_for_the_service", limit-uint64(n))
	return netutil.LimitListener(ln, n)
}
