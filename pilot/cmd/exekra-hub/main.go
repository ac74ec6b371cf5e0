// Command exekra-hub is the pilot supervisor: embedded NATS with JetStream,
// the bundled redis-server, a private PostgreSQL, and the five services as
// child processes, restarted when they crash and stopped in order on SIGTERM
// (Ctrl-C on Windows, where NSSM runs it as a service: deploy/windows/HUB.md).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/config"
	"github.com/exekra/hub/libs/daemon"
	"github.com/exekra/hub/pilot/supervisor"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Environ(), os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekra-hub: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		stop()
		if refused := (*supervisor.RefusedError)(nil); errors.As(err, &refused) {
			os.Exit(daemon.ExitRefused) // starting again cannot help: no restart loop
		}
		os.Exit(1)
	}
}

const usage = "usage: exekra-hub [--home DIR] [--version]"

func run(ctx context.Context, args, environ []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("exekra-hub", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back as one line
	home := fs.String("home", config.DefaultHome(), "install dir (config/, logs/, var/)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, usage)
			fs.PrintDefaults()
			return nil
		}
		return fmt.Errorf("%w (%s)", err, usage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), usage)
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.String())
		return nil
	}
	return supervisor.Run(ctx, supervisor.Options{Home: *home, Environ: environ, Stdout: stdout})
}
