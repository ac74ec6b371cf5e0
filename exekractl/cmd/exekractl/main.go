// Command exekractl is the admin command line of Exekra Hub: the license
// vendor side (keygen, issue), audit verification and export, publishing
// packages, starting jobs, schedules, calendars and assets, the asset key,
// and backup and restore of an install.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/exekra/hub/libs/buildinfo"
	"github.com/exekra/hub/libs/license"
)

const usage = `usage: exekractl <command> [flags]

  license keygen --out DIR              make a license signing key pair
  license issue --key FILE ... --out F  issue a signed license file
  audit verify [--checkpoint FILE]      verify the audit log's hash chain (and that it still holds a saved checkpoint)
  audit checkpoint --out FILE           save the newest signed checkpoint of the log
  audit export --format jsonl|csv --out FILE [--since T] [--until T]
  package publish <dir|zip>             check and publish a package (a directory holding
                                        exekra.json is zipped first); needs DEVELOPER
  job start --package NAME --environment ENV [--version V] [--runner-id ID]
            [--label L ...] [--param k=v ...] [--params-file JSON]
            [--max-attempts N] [--timeout-seconds N] [--wait]
                                        start a job and print its id; --wait follows its
                                        log and exits 1 unless it succeeds
  schedule list|show|create|update|pause|resume|run|delete|next|fires
                                        schedules that start jobs by cron or interval; see
                                        "exekractl schedule help"; authoring needs DEVELOPER
  asset list|show|create|set|unset|update|delete
                                        the settings and secrets robots use; secret values are read
                                        from standard input; see "exekractl asset help"; reading takes
                                        any role, the rest DEVELOPER
  assets rotate-key [--home DIR]        make a new primary asset key and wait for the Hub to re-wrap every
  assets retire-keys [--home DIR]       value under it; then drop the keys no value needs any more
  token create|list|revoke               API tokens for Studio, CI and scripts: create --name N --scope
                                        read,run --expires 90d [--user-id ID]; list [--all]; revoke ID
  calendar list|show|create|update|delete
                                        calendars of non-working days schedules skip
  backup [--home DIR] [--out FILE]      archive the running Hub of DIR for disaster recovery: every
                                        service schema (pg_dump), the package bytes, config/ and .env
                                        (secrets: the file is written 0600)
  restore --from FILE [--home DIR]      put an archive back into a stopped, fresh install (settings,
          [--packages-only]             schemas, packages); see docs/operations.md "Backup and disaster recovery"
  credentials [--home DIR] [--dir DIR]  make what is missing of the Hub's NATS keys and Redis passwords
          [--redis-acl FILE]            (0600, in hub.credentials_dir) and write the Redis ACL file and the
          [--nats-authorization FILE]   NATS authorization block for servers the pilot does not start
  version

audit, package, job, schedule, calendar, asset and token commands talk to the Hub: --hub https://host:8443 --token-file FILE
(a session or API token; without it, the token in EXEKRA_TOKEN) and --ca FILE (the pilot's config/certs/hub.crt) or
--fingerprint SHA256.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "exekractl: %v\n", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("no command\n%s", usage)
	}
	switch args[0] {
	case "license":
		return license.RunCLI(args[1:], stdout)
	case "audit":
		return runAudit(ctx, args[1:], stdout)
	case "package":
		return runPackage(ctx, args[1:], stdout)
	case "job":
		return runJob(ctx, args[1:], stdout)
	case "schedule":
		return runSchedule(ctx, args[1:], stdout)
	case "calendar":
		return runCalendar(args[1:], stdout)
	case "token":
		return runToken(args[1:], stdout)
	case "asset":
		return runAsset(args[1:], stdout)
	case "assets":
		return runAssets(ctx, args[1:], os.Environ(), stdout)
	case "backup":
		return runBackup(ctx, args[1:], os.Environ(), stdout)
	case "restore":
		return runRestore(ctx, args[1:], os.Environ(), stdout)
	case "credentials":
		return runCredentials(args[1:], os.Environ(), stdout)
	case "version":
		fmt.Fprintln(stdout, buildinfo.String())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q\n%s", args[0], usage)
}

// parseFlags parses args and refuses positional arguments; for -h it
// prints the usage and reports help.
func parseFlags(fs *flag.FlagSet, args []string, usage string, stdout io.Writer) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fmt.Fprintln(stdout, usage)
			fs.PrintDefaults()
			return true, nil
		}
		return false, fmt.Errorf("%w (%s)", err, usage)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q (%s)", fs.Arg(0), usage)
	}
	return false, nil
}
