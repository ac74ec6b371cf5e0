package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/exekra/hub/libs/buildinfo"
)

// Exit codes of exekra-runner. A service manager should restart the agent
// on ExitError only: ExitUsage and ExitCredentials need a person.
const (
	ExitOK          = 0 // stopped by SIGTERM or SIGINT
	ExitError       = 1 // an unexpected failure
	ExitUsage       = 2 // bad flags or config, unreadable secret, untrusted Hub certificate at first contact
	ExitCredentials = 3 // the Hub refused the credentials: secret regenerated or runner deleted
)

const usage = `usage: exekra-runner --hub https://host:8443 --id RUNNER_ID --secret-file FILE [--ca FILE | --fingerprint SHA256]
       exekra-runner --config FILE     (JSON: hub, id, secret_file, ca, fingerprint, work_dir, state_dir, max_jobs, plain_http, log_level)
  --work-dir DIR      jobs unpack and run under DIR/jobs, the last 8 packages are kept in
                      DIR/packages; its free space is reported (default .)
  --state-dir DIR     directory of the job journal (default: the work directory)
  --max-jobs N        jobs run at once (default 1; 0: heartbeats only)
  --log-level LEVEL   debug, info, warn or error (default info)
  --plain-http        allow an http:// Hub (tests only)
  --version           print the version
The Hub's certificate is verified against the system's roots unless --ca or --fingerprint says otherwise.
`

// Main runs the agent with args and returns the process's exit code. Logs
// are JSON lines on stderr.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, showVersion, err := ParseArgs(args)
	if err == nil && len(args) == 0 {
		err = usagef("no settings given")
	}
	if err != nil {
		fmt.Fprintf(stderr, "exekra-runner: %v\n%s", err, usage)
		return ExitUsage
	}
	if showVersion {
		fmt.Fprintln(stdout, buildinfo.String())
		return ExitOK
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintf(stderr, "exekra-runner: --log-level must be debug, info, warn or error\n")
		return ExitUsage
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})).With("process", "exekra-runner")
	a, err := New(cfg, log)
	if err != nil {
		log.Error(err.Error())
		return exitCode(err)
	}
	return exitCode(a.Run(ctx))
}

func exitCode(err error) int {
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, ErrCredentialsRefused):
		return ExitCredentials
	case isUsage(err):
		return ExitUsage
	}
	return ExitError
}
