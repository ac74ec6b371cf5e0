package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/exekra/hub/libs/contract/identity"
)

// envToken names the environment variable holding a token when
// --token-file is not given.
const envToken = "EXEKRA_TOKEN"

// readToken returns the token of file, or of $EXEKRA_TOKEN when file is "".
func readToken(file string) (string, error) {
	if file == "" {
		if tok := strings.TrimSpace(os.Getenv(envToken)); tok != "" {
			return tok, nil
		}
		return "", errors.New("--token-file or " + envToken + " is required")
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

const tokenUsage = `usage: exekractl token <subcommand> [flags]

  create --name N --scope read,run,publish,admin --expires 90d [--user-id ID]
  list [--all]
  revoke ID

An API token lets Studio, CI and scripts use the Hub as you (or, made by an ADMIN with
--user-id, as a service account): it may do what its scopes allow and its owner's role
allows, never more. The token is printed once by create; keep it in a secret store and give
it as --token-file or ` + envToken + `. --expires takes days (90d), hours (12h) or a date
(2027-06-30). Creating a token needs a signed-in session token, not an API token. list --all
(every user's) takes ADMIN. Every subcommand takes --json and --hub, --token-file, --ca or
--fingerprint.`

// runToken dispatches exekractl token's subcommands.
func runToken(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("token needs a subcommand\n" + tokenUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "create":
		return tokenCreate(rest, stdout)
	case "list":
		return tokenList(rest, stdout)
	case "revoke":
		return tokenRevoke(rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, tokenUsage)
		return nil
	}
	return fmt.Errorf("unknown token subcommand %q\n%s", sub, tokenUsage)
}

// parseExpiry reads --expires: Nd, a Go duration, or a date (end of that day, UTC).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.Add(24*time.Hour - time.Second), nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: give days (90d), hours (12h) or a date (2027-06-30)", s)
}

func tokenCreate(args []string, stdout io.Writer) error {
	cf := newCmdFlags("token create", "signed-in (any role)")
	name := cf.fs.String("name", "", "the token's name (1 to 100 characters)")
	scopes := cf.fs.String("scope", "", "comma-separated scopes: read, run, publish, admin")
	expires := cf.fs.String("expires", "", "when it stops working: 90d, 12h or 2027-06-30")
	userID := cf.fs.String("user-id", "", "ADMIN: the service account the token is for")
	const usage = "exekractl token create --name N --scope read,run --expires 90d [--user-id ID] [--json]"
	_, help, err := cf.parse(args, 0, usage, stdout)
	if err != nil || help {
		return err
	}
	if *expires == "" {
		return errors.New("--expires is required (usage: " + usage + ")")
	}
	at, err := parseExpiry(*expires, time.Now())
	if err != nil {
		return err
	}
	req := identity.CreateTokenRequest{Name: *name, ExpiresAt: at.UTC(), UserID: *userID, Scopes: []string{}}
	for _, sc := range strings.Split(*scopes, ",") {
		if sc = strings.TrimSpace(sc); sc != "" {
			req.Scopes = append(req.Scopes, sc)
		}
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	var created identity.CreatedToken
	if err := c.JSON("POST", "/api/v1/tokens", req, &created); err != nil {
		return hubErr("create token", err)
	}
	if cf.json {
		return printJSON(stdout, created)
	}
	fmt.Fprintf(stdout, "%s\n\nThis is the only time the token is shown: keep it now. It is %q (%s), scopes %s, expires %s.\n",
		created.Token, created.Info.Name, created.Info.ID, strings.Join(created.Info.Scopes, ","), created.Info.ExpiresAt.Format(time.RFC3339))
	return nil
}

func tokenList(args []string, stdout io.Writer) error {
	cf := newCmdFlags("token list", "signed-in (any role)")
	all := cf.fs.Bool("all", false, "ADMIN: every user's tokens")
	_, help, err := cf.parse(args, 0, "exekractl token list [--all] [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	path := "/api/v1/tokens"
	if *all {
		path += "?" + url.Values{"all": {"true"}}.Encode()
	}
	tokens, err := listAll[identity.APIToken](c, path, 0)
	if err != nil {
		return hubErr("list tokens", err)
	}
	if cf.json {
		return printJSON(stdout, tokens)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tUSER\tPREFIX\tSCOPES\tEXPIRES\tLAST USED\tSTATE")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.UserEmail, t.Prefix, strings.Join(t.Scopes, ","),
			t.ExpiresAt.Format(time.DateOnly), lastUsed(t), t.State(time.Now()))
	}
	return tw.Flush()
}

// lastUsed describes when and from where t was last used.
func lastUsed(t identity.APIToken) string {
	if t.LastUsedAt == nil {
		return "never"
	}
	return t.LastUsedAt.Format(time.RFC3339) + " " + t.LastUsedIP
}

func tokenRevoke(args []string, stdout io.Writer) error {
	cf := newCmdFlags("token revoke", "signed-in (any role)")
	pos, help, err := cf.parse(args, 1, "exekractl token revoke ID [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	var t identity.APIToken
	if err := c.JSON("DELETE", "/api/v1/tokens/"+url.PathEscape(pos[0]), nil, &t); err != nil {
		return hubErr("revoke token "+pos[0], err)
	}
	if cf.json {
		return printJSON(stdout, t)
	}
	fmt.Fprintf(stdout, "revoked token %s (%q); it stops working at once\n", t.ID, t.Name)
	return nil
}
