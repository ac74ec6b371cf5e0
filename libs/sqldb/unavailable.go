package sqldb

import (
	"errors"
	"io"
	"net"
	"strings"

	"github.com/exekra/hub/libs/errs"
	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable returns err as errs.Unavailable when it says PostgreSQL could
// not be reached or went away (a restart, a failover, a full server), so
// callers get 503 and retry instead of 500, which is for bugs. Any other
// error, and one that already has a kind other than internal, is returned
// as it is.
func Unavailable(err error) error {
	if err == nil || errs.KindOf(err) != errs.Internal || !lostServer(err) {
		return err
	}
	return errs.Wrap(errs.Unavailable, "the database is unavailable for a moment; try again", err)
}

// serverGone are the SQLSTATEs of a server that is going away, starting or full.
var serverGone = map[string]bool{
	"57P01": true, // admin_shutdown: a restart or fast shutdown
	"57P02": true, // crash_shutdown
	"57P03": true, // cannot_connect_now: starting up or in recovery
	"53300": true, // too_many_connections
}

func lostServer(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return serverGone[pgErr.Code] || strings.HasPrefix(pgErr.Code, "08") // connection_exception
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connectErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}
