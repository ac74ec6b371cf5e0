package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// serve runs srv on ln (HTTPS with HTTP/2 when srv.TLSConfig is set) until ctx ends, then drains in-flight requests.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, log *slog.Logger, started time.Time) error {
	errc := make(chan error, 1)
	go func() {
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "") // certificates come from TLSConfig.GetCertificate
			return
		}
		errc <- srv.Serve(ln)
	}()
	log.Info("gateway serving", "addr", ln.Addr().String(), "startup_ms", time.Since(started).Milliseconds())
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	log.Info("stopping")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return nil
}
