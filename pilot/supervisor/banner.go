package supervisor

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/pilot/listenaddr"
)

// consoleURL is where a browser on this machine reaches the console.
func consoleURL(cfg *config.Config) string {
	scheme := "https"
	if cfg.Gateway.PlainHTTP {
		scheme = "http"
	}
	host, port, err := net.SplitHostPort(cfg.Gateway.Listen)
	if err != nil {
		return scheme + "://" + cfg.Gateway.Listen + "/"
	}
	return scheme + "://" + net.JoinHostPort(listenaddr.DialHost(host), port) + "/"
}

// announce tells the operator the Hub is up and what to do next.
func (h *hub) announce(w io.Writer, took time.Duration) {
	url := consoleURL(h.cfg)
	selfSigned := h.cfg.TLS.SelfSigned && !h.cfg.Gateway.PlainHTTP
	curl := "curl"
	if selfSigned {
		curl = "curl -k"
	}
	fmt.Fprintf(w, "\nExekra Hub is running (ready in %.1f s).\n", took.Seconds())
	fmt.Fprintf(w, "  Console:  %s\n", url)
	if selfSigned {
		fmt.Fprintf(w, "            its certificate is self-signed: your browser asks you to accept it once\n")
	}
	fmt.Fprintf(w, "  Next:     open the console to activate your license and create the first administrator\n")
	fmt.Fprintf(w, "  Health:   %s %sapi/health\n", curl, url)
	fmt.Fprintf(w, "  Logs:     %s\n", h.cfg.Path(h.cfg.Log.Dir))
	fmt.Fprintf(w, "  Stop:     Ctrl-C or SIGTERM (stops every service in order)\n\n")
	h.log.Info("hub ready", "startup_ms", took.Milliseconds(), "console", url)
}
