package license

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const cliUsage = `usage:
  exekractl license keygen --out DIR [--force]
  exekractl license issue --key FILE --licensee NAME --admin-email EMAIL --max-runners N
        --expires RFC3339|YYYY-MM-DD [--not-before RFC3339|YYYY-MM-DD] [--mode online|offline]
        [--interval-hours H] [--grace-days D] [--portal-url URL] [--license-id ID] --out FILE|-`

// RunCLI runs "exekractl license <keygen|issue> ...": args start with the
// subcommand; what it did is written to stdout.
func RunCLI(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("license: missing command\n%s", cliUsage)
	}
	switch args[0] {
	case "keygen":
		return runKeygen(args[1:], stdout)
	case "issue":
		return runIssue(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, cliUsage)
		return nil
	}
	return fmt.Errorf("license: unknown command %q (want keygen or issue)\n%s", args[0], cliUsage)
}

func newFlags(name string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("license "+name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	return fs
}

func runKeygen(args []string, stdout io.Writer) error {
	fs := newFlags("keygen", stdout)
	dir := fs.String("out", "", "directory for license.key (secret, 0600) and license.pub")
	force := fs.Bool("force", false, "overwrite existing key files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("license keygen: --out DIR is required")
	}
	priv, pub, err := Keygen()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return fmt.Errorf("license keygen: %w", err)
	}
	keyPath, pubPath := filepath.Join(*dir, PrivateKeyFile), filepath.Join(*dir, PublicKeyFile)
	if err := writeFile(keyPath, EncodePrivateKey(priv), 0o600, *force); err != nil {
		return err
	}
	if err := writeFile(pubPath, EncodePublicKey(pub)+"\n", 0o644, *force); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (keep it secret) and %s\ntrust it in the Hub with EXEKRA_LICENSE_PUBLIC_KEYS=%s\n",
		keyPath, pubPath, EncodePublicKey(pub))
	return nil
}

// writeFile writes a new file with perm; an existing one only when force.
func writeFile(path, content string, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if errors.Is(err, os.ErrExist) {
		return fmt.Errorf("%s exists; pass --force to overwrite it", path)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(perm); err != nil { // an overwritten file keeps its old mode otherwise
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// issueFlags are the flags of "license issue".
type issueFlags struct {
	key, licensee, email, expires, notBefore, mode, portal, id, out string
	runners, interval, grace                                        int
}

func parseIssue(args []string, stdout io.Writer) (issueFlags, error) {
	var f issueFlags
	fs := newFlags("issue", stdout)
	fs.StringVar(&f.key, "key", "", "license.key file made by keygen")
	fs.StringVar(&f.licensee, "licensee", "", "customer name")
	fs.StringVar(&f.email, "admin-email", "", "email of the Hub's first administrator")
	fs.IntVar(&f.runners, "max-runners", 0, "runners the license allows")
	fs.StringVar(&f.expires, "expires", "", "expiry: RFC 3339, or YYYY-MM-DD meaning the end of that day (UTC)")
	fs.StringVar(&f.notBefore, "not-before", "", "start: RFC 3339, or YYYY-MM-DD meaning the start of that day (UTC); default now")
	fs.StringVar(&f.mode, "mode", "", "validation mode online|offline (default online with --portal-url, else offline)")
	fs.IntVar(&f.interval, "interval-hours", 0, "hours between validations (default 24 online, 720 offline)")
	fs.IntVar(&f.grace, "grace-days", 14, "days the Hub keeps working once validation is overdue or the license expired")
	fs.StringVar(&f.portal, "portal-url", "", "URL online validation posts usage reports to")
	fs.StringVar(&f.id, "license-id", "", "license id (default: a new UUID)")
	fs.StringVar(&f.out, "out", "", "file to write the license to (- for standard output)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	var missing []string
	for name, v := range map[string]string{"--key": f.key, "--licensee": f.licensee, "--admin-email": f.email,
		"--expires": f.expires, "--out": f.out} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return f, fmt.Errorf("license issue: %s required", strings.Join(slices.Sorted(slices.Values(missing)), ", "))
	}
	return f, nil
}

func runIssue(args []string, stdout io.Writer) error {
	f, err := parseIssue(args, stdout)
	if err != nil {
		return err
	}
	keyText, err := os.ReadFile(f.key)
	if err != nil {
		return fmt.Errorf("license issue: read key: %w", err)
	}
	priv, err := ParsePrivateKey(string(keyText))
	if err != nil {
		return fmt.Errorf("license issue: %s: %w", f.key, err)
	}
	doc, err := f.document(time.Now())
	if err != nil {
		return err
	}
	text, err := Issue(priv, doc)
	if err != nil {
		return fmt.Errorf("license issue: %w", err)
	}
	if f.out == "-" {
		_, err := io.WriteString(stdout, text)
		return err
	}
	if err := writeFile(f.out, text, 0o644, true); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "issued license %s to %s: %d runners, %s validation, expires %s; written to %s\n",
		doc.LicenseID, doc.Licensee, doc.MaxRunners, doc.Validation.Mode, doc.ExpiresAt.UTC().Format(time.RFC3339), f.out)
	return nil
}

// document builds the license document the flags describe.
func (f issueFlags) document(now time.Time) (Document, error) {
	doc := Document{LicenseID: f.id, Licensee: f.licensee, AdminEmail: f.email, MaxRunners: f.runners,
		IssuedAt: now, NotBefore: now, PortalURL: f.portal,
		Validation: Validation{Mode: f.mode, IntervalHours: f.interval, GraceDays: f.grace}}
	var err error
	if doc.ExpiresAt, err = parseWhen(f.expires, true); err != nil {
		return doc, fmt.Errorf("license issue: --expires: %w", err)
	}
	if f.notBefore != "" {
		if doc.NotBefore, err = parseWhen(f.notBefore, false); err != nil {
			return doc, fmt.Errorf("license issue: --not-before: %w", err)
		}
	}
	if doc.LicenseID == "" {
		doc.LicenseID = newUUID()
	}
	if doc.Validation.Mode == "" {
		doc.Validation.Mode = map[bool]string{true: ModeOnline, false: ModeOffline}[f.portal != ""]
	}
	if doc.Validation.IntervalHours == 0 {
		doc.Validation.IntervalHours = map[bool]int{true: 24, false: 720}[doc.Validation.Mode == ModeOnline]
	}
	return doc, nil
}

// parseWhen reads RFC 3339 or a date; a date is the start of that day (UTC),
// or its last second when endOfDay.
func parseWhen(s string, endOfDay bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor YYYY-MM-DD", s)
	}
	if endOfDay {
		d = d.Add(24*time.Hour - time.Second)
	}
	return d, nil
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; see crypto/rand
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
