package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/hubclient"
)

func runAudit(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("audit needs a subcommand: verify, checkpoint or export")
	}
	fs := flag.NewFlagSet("exekractl audit "+args[0], flag.ContinueOnError)
	hub := fs.String("hub", "https://127.0.0.1:8443", "the Hub's URL")
	tokenFile := fs.String("token-file", "", "file holding an ADMIN session or API token (default: $"+envToken+")")
	ca := fs.String("ca", "", "CA certificate (PEM) to trust for the Hub")
	fp := fs.String("fingerprint", "", "SHA-256 fingerprint of the Hub's certificate to pin")
	out := fs.String("out", "", "output file")
	cpFile := fs.String("checkpoint", "", "saved checkpoint the log must still hold")
	format := fs.String("format", "jsonl", "export format: jsonl or csv")
	since := fs.String("since", "", "export from this RFC 3339 time")
	until := fs.String("until", "", "export up to this RFC 3339 time")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	token, err := readToken(*tokenFile)
	if err != nil {
		return err
	}
	c, err := hubclient.New(*hub, token, hubclient.Options{CAFile: *ca, Fingerprint: *fp})
	if err != nil {
		return err
	}
	switch args[0] {
	case "verify":
		return verify(c, *cpFile, stdout)
	case "checkpoint":
		return saveCheckpoint(c, *out, stdout)
	case "export":
		q := url.Values{"format": {*format}}
		for k, v := range map[string]string{"since": *since, "until": *until} {
			if v != "" {
				q.Set(k, v)
			}
		}
		return export(c, "/api/v1/audit/export?"+q.Encode(), *out, stdout)
	}
	return fmt.Errorf("unknown audit subcommand %q", args[0])
}

// verify walks the chain on the Hub and, with a checkpoint, checks its
// signature and that the log still holds the checkpointed record unchanged.
func verify(c *hubclient.Client, cpFile string, stdout io.Writer) error {
	var v audit.VerifyResponse
	if err := c.JSON("GET", "/api/v1/audit/verify", nil, &v); err != nil {
		return err
	}
	if !v.OK {
		return fmt.Errorf("audit chain BROKEN at seq %d (%s); %d records checked", v.FirstBadSeq, v.Reason, v.Checked)
	}
	fmt.Fprintf(stdout, "audit chain verified: %d records, head %s\n", v.Checked, v.HeadHash)
	printEnd(stdout, v)
	if cpFile == "" {
		return nil
	}
	data, err := os.ReadFile(cpFile)
	if err != nil {
		return fmt.Errorf("--checkpoint: %w", err)
	}
	var cp audit.Checkpoint
	if err := json.Unmarshal(data, &cp); err != nil {
		return fmt.Errorf("checkpoint %s is not a checkpoint file: %w", cpFile, err)
	}
	if !cp.Valid() {
		return fmt.Errorf("checkpoint %s: the signature does not match", cpFile)
	}
	var page struct {
		Items []audit.Record `json:"items"`
	}
	path := "/api/v1/audit?limit=1&cursor=" + strconv.FormatInt(cp.Seq+1, 10)
	if err := c.JSON("GET", path, nil, &page); err != nil {
		return err
	}
	if len(page.Items) == 0 || page.Items[0].Seq != cp.Seq || page.Items[0].Hash != cp.Hash {
		return fmt.Errorf("the log no longer holds checkpoint seq %d with hash %s: it was rewritten", cp.Seq, cp.Hash)
	}
	fmt.Fprintf(stdout, "checkpoint seq %d (signed by %s) is still in the log\n", cp.Seq, cp.PublicKey)
	return nil
}

// printEnd says what the log's end was held against: a valid chain alone
// does not show rows deleted from its end.
func printEnd(stdout io.Writer, v audit.VerifyResponse) {
	if v.CheckpointSeq > 0 {
		fmt.Fprintf(stdout, "the log reaches seq %d and still holds the newest checkpoint (seq %d)\n", v.HeadSeq, v.CheckpointSeq)
	}
	switch s := v.Stream; {
	case s == nil:
		fmt.Fprintln(stdout, "the log's end was not compared with the AUDIT stream (the Hub does not report it)")
	case s.Checked:
		fmt.Fprintf(stdout, "the log holds every event taken from the AUDIT stream (consumed up to stream seq %d, logged up to %d)\n",
			s.ConsumedSeq, s.LoggedSeq)
	}
	if v.Stream != nil && v.Stream.Note != "" {
		fmt.Fprintf(stdout, "note: %s\n", v.Stream.Note)
	}
}

func saveCheckpoint(c *hubclient.Client, out string, stdout io.Writer) error {
	var resp audit.CheckpointsResponse
	if err := c.JSON("GET", "/api/v1/audit/checkpoints?limit=1", nil, &resp); err != nil {
		return err
	}
	if len(resp.Items) == 0 {
		return errors.New("the Hub has taken no checkpoint yet (see audit.checkpoint_interval)")
	}
	data, _ := json.MarshalIndent(resp.Items[0], "", "  ")
	if err := writeOut(out, data, stdout); err != nil {
		return err
	}
	return nil
}

// export streams the file to out without holding it in memory.
func export(c *hubclient.Client, path, out string, stdout io.Writer) error {
	resp, err := c.Do("GET", path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	w := stdout
	if out != "" && out != "-" {
		f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

func writeOut(out string, data []byte, stdout io.Writer) error {
	if out == "" || out == "-" {
		_, err := stdout.Write(append(data, '\n'))
		return err
	}
	return os.WriteFile(out, append(data, '\n'), 0o600)
}
