// Package agent is the reference Runner agent (exekra-runner): it dials out
// to the Hub over HTTPS, sends heartbeats with the machine's metrics at the
// interval the Hub asks for, backs off with full jitter when the Hub cannot
// be reached, and stops for good when the Hub refuses its credentials.
// Beside the heartbeats it long-polls for jobs, runs each package's
// entrypoint in a work directory of its own, streams its output, enforces
// timeouts and cancellations and reports the result, keeping a local
// journal so that no result is lost and no job attempt runs twice.
package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/runnerclient"
)

// Config is how the agent is started: flags, or a JSON file with the same
// keys (hub, id, secret_file, ca, fingerprint, work_dir, state_dir,
// max_jobs, plain_http, log_level); a flag given on the command line wins over the file.
type Config struct {
	Hub         string `json:"hub"`
	ID          string `json:"id"`
	SecretFile  string `json:"secret_file"`
	CAFile      string `json:"ca"`
	Fingerprint string `json:"fingerprint"`
	WorkDir     string `json:"work_dir"`
	PlainHTTP   bool   `json:"plain_http"`
	LogLevel    string `json:"log_level"`
	// StateDir holds the job journal; "" means WorkDir.
	StateDir string `json:"state_dir"`
	// MaxJobs is how many jobs run at once; 0 turns the job side off
	// (heartbeats only). The command line's default is 1.
	MaxJobs int `json:"max_jobs"`
}

// usageError is an error in how the agent was started or what it was
// given to trust (exit code 2): a person has to fix it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// defaults are the settings neither a flag nor the config file gave.
func defaults() Config { return Config{WorkDir: ".", LogLevel: "info", MaxJobs: 1} }

// flagSet declares the command line onto c, c's values being the defaults.
func flagSet(c *Config, configFile *string, version *bool) *flag.FlagSet {
	fs := flag.NewFlagSet("exekra-runner", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(configFile, "config", "", "JSON file with the settings below (flags win)")
	fs.StringVar(&c.Hub, "hub", c.Hub, "the Hub's address, https://host:8443")
	fs.StringVar(&c.ID, "id", c.ID, "this runner's id (from the Hub's Runners page)")
	fs.StringVar(&c.SecretFile, "secret-file", c.SecretFile, "file holding this runner's machine secret (exk_ms_...)")
	fs.StringVar(&c.CAFile, "ca", c.CAFile, "PEM file of the CA to trust for the Hub (a pilot's config/certs/hub.crt)")
	fs.StringVar(&c.Fingerprint, "fingerprint", c.Fingerprint, "hex SHA-256 of the Hub's certificate to pin (self-signed pilots)")
	fs.StringVar(&c.WorkDir, "work-dir", c.WorkDir, "work directory (its free disk space is reported)")
	fs.BoolVar(&c.PlainHTTP, "plain-http", c.PlainHTTP, "allow an http:// Hub (tests only: the secret travels in clear)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.StateDir, "state-dir", c.StateDir, "directory of the job journal (default: the work directory)")
	fs.IntVar(&c.MaxJobs, "max-jobs", c.MaxJobs, "jobs run at once (0: heartbeats only, no jobs)")
	fs.BoolVar(version, "version", false, "print the version and exit")
	return fs
}

// ParseArgs reads the command line and the config file it names. It returns
// showVersion when --version was asked for.
func ParseArgs(args []string) (cfg Config, showVersion bool, err error) {
	var configFile string
	first := defaults()
	fs := flagSet(&first, &configFile, &showVersion)
	if err := fs.Parse(args); err != nil {
		return cfg, false, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return cfg, false, usagef("unexpected argument %q", fs.Arg(0))
	}
	if configFile == "" {
		return first, showVersion, nil
	}
	cfg = defaults()
	if err := readConfigFile(configFile, &cfg); err != nil {
		return cfg, false, err
	}
	// Flags win: the same command line again, onto what the file gave.
	if err := flagSet(&cfg, new(string), new(bool)).Parse(args); err != nil {
		return cfg, false, usagef("%v", err)
	}
	return cfg, showVersion, nil
}

func readConfigFile(path string, cfg *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return usagef("read config file: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return usagef("config file %s: %v", path, err)
	}
	return nil
}

// Validate checks the settings and returns the Hub's base URL.
func (c Config) Validate() (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(c.Hub, "/"))
	switch {
	case c.Hub == "":
		return nil, usagef("--hub is required (https://host:8443)")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		return nil, usagef("--hub must be an https:// URL with a host, like https://hub.example:8443")
	case u.User != nil:
		return nil, usagef("--hub must not hold credentials; the runner id and secret go in --id and --secret-file")
	case u.Scheme == "http" && !c.PlainHTTP:
		return nil, usagef("refusing plain http:// (the machine secret would travel in clear); use https:// or, for tests only, --plain-http")
	}
	if !isUUID(c.ID) {
		return nil, usagef("--id must be this runner's id, a UUID from the Hub's Runners page")
	}
	if c.SecretFile == "" {
		return nil, usagef("--secret-file is required")
	}
	if c.MaxJobs < 0 || c.MaxJobs > 64 {
		return nil, usagef("--max-jobs must be between 0 (heartbeats only) and 64")
	}
	if c.Fingerprint != "" {
		if _, err := parseFingerprint(c.Fingerprint); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// isUUID reports whether s is a UUID in its canonical text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if r != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", r):
			return false
		}
	}
	return true
}

func parseFingerprint(fp string) ([]byte, error) {
	b, err := runnerclient.ParseFingerprint(fp)
	if err != nil {
		return nil, usagef("--fingerprint must be the hex SHA-256 of the Hub's certificate (64 hex digits, colons allowed)")
	}
	return b, nil
}

// secret is a machine secret; it prints as [redacted], so it cannot be logged by mistake.
type secret string

func (secret) String() string   { return "[redacted]" }
func (secret) GoString() string { return "[redacted]" }

// readSecret reads the machine secret file; warn is told when others may read it.
func readSecret(path string, warn func(msg string)) (secret, error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", usagef("secret file: %v", err)
	}
	if runtime.GOOS != "windows" && info.Mode().Perm()&0o077 != 0 {
		warn(fmt.Sprintf("the secret file %s can be read by other users (mode %v); chmod 600 it", path, info.Mode().Perm()))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", usagef("secret file: %v", err)
	}
	s := strings.TrimSpace(string(data))
	if !strings.HasPrefix(s, runners.SecretPrefix) || len(s) < len(runners.SecretPrefix)+40 || strings.ContainsAny(s, " \t\r\n") {
		return "", usagef("the secret file %s does not hold a machine secret (one line starting %s)", path, runners.SecretPrefix)
	}
	return secret(s), nil
}
