package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/exekra/hub/libs/contract/runners"
)

// stdin is where --value-stdin and --password-stdin read (tests replace it).
var stdin io.Reader = os.Stdin

const assetUsage = `usage: exekractl asset <subcommand> [flags]

  list [--type T]
  show NAME
  create NAME --type T [--description D] [--value V | --value-stdin]
  set NAME [--environment E | --runner ID] (--value V | --value-stdin | --username U --password-stdin)
  unset NAME [--environment E | --runner ID]
  update NAME --description D
  delete NAME

Reading takes any signed-in role; the others take DEVELOPER (or ADMIN). Values of
credential and secret assets are read from standard input, never from the command line.
Every subcommand takes --json and --hub, --token-file, --ca or --fingerprint.`

// runAsset dispatches exekractl asset's subcommands.
func runAsset(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("asset needs a subcommand\n" + assetUsage)
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "list":
		return assetList(rest, stdout)
	case "show", "delete":
		return assetAct(sub, rest, stdout)
	case "create", "set", "unset", "update":
		return assetWrite(sub, rest, stdout)
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, assetUsage)
		return nil
	}
	return fmt.Errorf("unknown asset subcommand %q\n%s", sub, assetUsage)
}

func assetList(args []string, stdout io.Writer) error {
	cf := newCmdFlags("asset list", "signed-in")
	typ := cf.fs.String("type", "", "only assets of this type: "+strings.Join(runners.AssetTypes, ", "))
	_, help, err := cf.parse(args, 0, "exekractl asset list [--type T] [--json]", stdout)
	if err != nil || help {
		return err
	}
	path := runners.PathAssets
	if *typ != "" {
		if !slices.Contains(runners.AssetTypes, *typ) {
			return fmt.Errorf("--type %q is not one of %s", *typ, strings.Join(runners.AssetTypes, ", "))
		}
		path += "?type=" + url.QueryEscape(*typ)
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	items, err := listAll[runners.Asset](c, path, 0)
	if err != nil {
		return hubErr("list assets", err)
	}
	if cf.json {
		return printJSON(stdout, items)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tTYPE\tVALUES\tDESCRIPTION")
	for _, a := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, a.Type, scopes(a), a.Description)
	}
	return tw.Flush()
}

// scopes names the scopes an asset has values for.
func scopes(a runners.Asset) string {
	var s []string
	for _, v := range a.Values {
		s = append(s, scopeName(v))
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func scopeName(v runners.AssetValue) string {
	switch v.Scope {
	case runners.ScopeEnvironment:
		return v.Environment
	case runners.ScopeRunner:
		if v.RunnerName != nil {
			return "runner " + *v.RunnerName
		}
		return "runner " + v.RunnerID
	}
	return v.Scope
}

func printAsset(w io.Writer, a runners.Asset) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "name:\t%s\ntype:\t%s\n", a.Name, a.Type)
	if a.Description != "" {
		fmt.Fprintf(tw, "description:\t%s\n", a.Description)
	}
	fmt.Fprintf(tw, "created:\t%s by %s\n", a.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), a.CreatedBy)
	tw.Flush()
	fmt.Fprintln(w, "values:")
	if len(a.Values) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SCOPE\tVALUE\tVERSION\tUPDATED")
	for _, v := range a.Values {
		val := string(v.Value)
		if a.WriteOnly || val == "" || val == "null" {
			val = "(write-only)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s by %s\n", scopeName(v), val, v.Version, v.UpdatedAt.UTC().Format("2006-01-02T15:04:05Z"), v.UpdatedBy)
	}
	tw.Flush()
}

// assetAct shows or deletes one asset.
func assetAct(sub string, args []string, stdout io.Writer) error {
	role := "DEVELOPER (or ADMIN)"
	if sub == "show" {
		role = "signed-in"
	}
	cf := newCmdFlags("asset "+sub, role)
	pos, help, err := cf.parse(args, 1, "exekractl asset "+sub+" NAME [--json]", stdout)
	if err != nil || help {
		return err
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	name := pos[0]
	if sub == "delete" {
		if err := c.JSON("DELETE", runners.AssetPath(name), nil, nil); err != nil {
			return hubErr("delete asset "+name, err)
		}
		if cf.json {
			return printJSON(stdout, runners.AssetDeleted{Name: name, Deleted: true})
		}
		fmt.Fprintf(stdout, "deleted asset %s and its values\n", name)
		return nil
	}
	var a runners.Asset
	if err := c.JSON("GET", runners.AssetPath(name), nil, &a); err != nil {
		return hubErr("read asset "+name, err)
	}
	if cf.json {
		return printJSON(stdout, a)
	}
	printAsset(stdout, a)
	return nil
}

// assetWrite creates, sets, unsets or updates.
func assetWrite(sub string, args []string, stdout io.Writer) error {
	cf := newCmdFlags("asset "+sub, "DEVELOPER (or ADMIN)")
	typ := cf.fs.String("type", "", "the asset's type: "+strings.Join(runners.AssetTypes, ", ")+" (create)")
	desc := cf.fs.String("description", "", "what the asset is for")
	value := cf.fs.String("value", "", "the value (text, integer, boolean only; others: --value-stdin)")
	valueStdin := cf.fs.Bool("value-stdin", false, "read the value from standard input (one line, or all of it)")
	env := cf.fs.String("environment", "", "the value of this environment (set, unset)")
	runner := cf.fs.String("runner", "", "the value of this runner id (set, unset)")
	user := cf.fs.String("username", "", "a credential's username (set)")
	pwStdin := cf.fs.Bool("password-stdin", false, "read a credential's password from standard input (set)")
	pos, help, err := cf.parse(args, 1, "exekractl asset "+sub+" NAME [flags] [--json]", stdout)
	if err != nil || help {
		return err
	}
	name := pos[0]
	set := map[string]bool{}
	cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *env != "" && *runner != "" {
		return errors.New("give --environment or --runner, not both")
	}
	c, err := cf.hub.client()
	if err != nil {
		return err
	}
	var a runners.Asset
	switch sub {
	case "update":
		if !set["description"] {
			return errors.New("--description is required")
		}
		err = c.JSON("PATCH", runners.AssetPath(name), map[string]string{"description": *desc}, &a)
	case "create":
		if !slices.Contains(runners.AssetTypes, *typ) {
			return fmt.Errorf("--type is required: one of %s", strings.Join(runners.AssetTypes, ", "))
		}
		req := runners.CreateAssetRequest{Name: name, Type: *typ, Description: *desc}
		if set["value"] || *valueStdin || set["username"] || *pwStdin {
			if req.Value, err = assetValue(*typ, set["value"], *value, *valueStdin, set["username"], *user, *pwStdin); err != nil {
				return err
			}
		}
		err = c.JSON("POST", runners.PathAssets, req, &a)
	case "set", "unset":
		path := runners.AssetGlobalValuePath(name)
		if *env != "" {
			e, perr := parseEnvironment(*env)
			if perr != nil {
				return perr
			}
			path = runners.AssetEnvironmentValuePath(name, e)
		} else if *runner != "" {
			path = runners.AssetRunnerValuePath(name, *runner)
		}
		if sub == "unset" {
			err = c.JSON("DELETE", path, nil, &a)
			break
		}
		var cur runners.Asset // the type decides how the value is read
		if err := c.JSON("GET", runners.AssetPath(name), nil, &cur); err != nil {
			return hubErr("read asset "+name, err)
		}
		v, verr := assetValue(cur.Type, set["value"], *value, *valueStdin, set["username"], *user, *pwStdin)
		if verr != nil {
			return verr
		}
		err = c.JSON("PUT", path, runners.AssetValueBody{Value: v}, &a)
	}
	if err != nil {
		return hubErr(sub+" asset "+name, err)
	}
	if cf.json {
		return printJSON(stdout, a)
	}
	printAsset(stdout, a)
	return nil
}

// assetValue builds the JSON value of an asset of type typ from the flags;
// secrets come from standard input only.
func assetValue(typ string, hasValue bool, value string, valueStdin, hasUser bool, user string, pwStdin bool) (json.RawMessage, error) {
	if hasValue && valueStdin {
		return nil, errors.New("give --value or --value-stdin, not both")
	}
	if typ == runners.AssetCredential {
		if hasValue || valueStdin {
			return nil, errors.New("a credential is set with --username U --password-stdin (the password typed on standard input)")
		}
		if !hasUser || user == "" || !pwStdin {
			return nil, errors.New("a credential needs --username U and --password-stdin")
		}
		pw, err := readStdinValue()
		if err != nil {
			return nil, err
		}
		return json.Marshal(runners.Credential{Username: user, Password: pw})
	}
	if hasUser || pwStdin {
		return nil, fmt.Errorf("--username and --password-stdin are for credential assets, not %s", typ)
	}
	if typ == runners.AssetSecret && hasValue {
		return nil, errors.New("a secret is never given on the command line: use --value-stdin and type it on standard input")
	}
	if !hasValue && !valueStdin {
		return nil, errors.New("give the value: --value V or --value-stdin")
	}
	if valueStdin {
		v, err := readStdinValue()
		if err != nil {
			return nil, err
		}
		value = v
	}
	switch typ {
	case runners.AssetInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", value)
		}
		return json.Marshal(n)
	case runners.AssetBoolean:
		b, err := strconv.ParseBool(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("%q is not a boolean (true or false)", value)
		}
		return json.Marshal(b)
	}
	if value == "" {
		return nil, errors.New("the value is empty")
	}
	return json.Marshal(value)
}

// readStdinValue reads a value from standard input: all of it, without
// the final line break.
func readStdinValue() (string, error) {
	data, err := io.ReadAll(bufio.NewReader(io.LimitReader(stdin, runners.MaxAssetValueBytes+1)))
	if err != nil {
		return "", fmt.Errorf("read standard input: %w", err)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if v == "" {
		return "", errors.New("standard input holds no value")
	}
	return v, nil
}
