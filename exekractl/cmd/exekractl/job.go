package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/hubclient"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// jobStart holds the parsed flags of job start.
type jobStart struct {
	hub     *hubFlags
	req     runners.CreateJobRequest
	wait    bool
	poll    time.Duration
	maxErrs int
}

func parseJobStart(args []string) (*jobStart, error) {
	fs := flag.NewFlagSet("exekractl job start", flag.ContinueOnError)
	js := &jobStart{hub: addHubFlags(fs, "OPERATOR (or higher)"), maxErrs: 5}
	var labels, params stringList
	fs.StringVar(&js.req.Package, "package", "", "package name (required)")
	fs.StringVar(&js.req.Version, "version", "", `package version (default "latest")`)
	env := fs.String("environment", "", "environment: "+strings.Join(runners.Environments, ", ")+" (required)")
	fs.StringVar(&js.req.RunnerID, "runner-id", "", "run on this runner only")
	fs.Var(&labels, "label", "runner label the job needs (repeatable)")
	fs.Var(&params, "param", "parameter name=value, a string (repeatable; overrides --params-file)")
	paramsFile := fs.String("params-file", "", "JSON object of parameters")
	fs.IntVar(&js.req.MaxAttempts, "max-attempts", 0, "attempts when the runner is lost (default 1)")
	fs.IntVar(&js.req.TimeoutSeconds, "timeout-seconds", 0, "stop the job after this many seconds (default 3600)")
	fs.BoolVar(&js.wait, "wait", false, "wait for the job to finish, printing its log; exit 1 unless it succeeds")
	fs.DurationVar(&js.poll, "poll-interval", 2*time.Second, "how often --wait asks the Hub")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected argument %q", pos[0])
	}
	if js.req.Package == "" {
		return nil, errors.New("--package is required")
	}
	if js.req.Environment, err = parseEnvironment(*env); err != nil {
		return nil, err
	}
	if js.req.MaxAttempts < 0 {
		return nil, errors.New("--max-attempts must not be negative")
	}
	if js.req.TimeoutSeconds < 0 {
		return nil, errors.New("--timeout-seconds must not be negative")
	}
	if js.poll <= 0 {
		return nil, errors.New("--poll-interval must be positive")
	}
	js.req.Labels = labels
	if js.req.Parameters, err = buildParams(*paramsFile, params); err != nil {
		return nil, err
	}
	return js, nil
}

// parseEnvironment accepts an environment name in any case and returns its
// canonical spelling.
func parseEnvironment(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("--environment is required: one of %s", strings.Join(runners.Environments, ", "))
	}
	for _, e := range runners.Environments {
		if strings.EqualFold(s, e) {
			return e, nil
		}
	}
	return "", fmt.Errorf("--environment %q is not one of %s", s, strings.Join(runners.Environments, ", "))
}

// buildParams merges the JSON object of file (if any) with the name=value
// pairs, which win; nil when there are none.
func buildParams(file string, pairs []string) (json.RawMessage, error) {
	params := map[string]any{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("--params-file: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil || obj == nil {
			return nil, fmt.Errorf("--params-file %s must hold a JSON object", file)
		}
		if dec.More() {
			return nil, fmt.Errorf("--params-file %s holds more than one JSON value", file)
		}
		params = obj
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--param %q must be name=value", p)
		}
		params[k] = v
	}
	if len(params) == 0 {
		return nil, nil
	}
	return json.Marshal(params)
}

func runJob(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "start" {
		return errors.New("job needs a subcommand: start")
	}
	js, err := parseJobStart(args[1:])
	if err != nil {
		return err
	}
	c, err := js.hub.client()
	if err != nil {
		return err
	}
	job, err := startJob(ctx, c, js.req)
	if err != nil {
		return fmt.Errorf("start job: %w", err)
	}
	fmt.Fprintln(stdout, job.ID)
	if !js.wait {
		return nil
	}
	return waitJob(ctx, c, job, js.poll, js.maxErrs, stdout)
}

// startAttempts is how often a start is sent while the Hub is unreachable
// or briefly unavailable.
const startAttempts = 5

// startJob creates the job under a fresh Idempotency-Key, sending it again
// (with the same key) while the Hub is briefly unavailable: a start whose
// reply was lost returns the job it created, never a second one.
func startJob(ctx context.Context, c *hubclient.Client, req runners.CreateJobRequest) (runners.Job, error) {
	key := make([]byte, 16)
	rand.Read(key) // never fails (crypto/rand)
	c = c.WithHeader(runners.HeaderIdempotencyKey, hex.EncodeToString(key))
	var job runners.Job
	for attempt := 1; ; attempt++ {
		err := c.JSON("POST", "/api/v1/jobs", req, &job)
		if err == nil || attempt == startAttempts || !transient(err) {
			return job, err
		}
		select {
		case <-ctx.Done():
			return job, err
		case <-time.After(time.Duration(attempt) * time.Second):
		}
	}
}

// transient reports whether a request may succeed if sent again: no answer
// at all, or the Hub said it is unavailable for a moment.
func transient(err error) bool {
	var apiErr *hubclient.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status == http.StatusServiceUnavailable || apiErr.Status == http.StatusGatewayTimeout ||
			apiErr.Status == http.StatusBadGateway
	}
	return true
}

// waitJob polls the job until it finishes, printing status changes and new
// log lines; it returns nil only when the job succeeded. Up to maxErrs
// failed polls in a row are retried.
func waitJob(ctx context.Context, c *hubclient.Client, job runners.Job, poll time.Duration, maxErrs int, stdout io.Writer) error {
	jobPath := "/api/v1/jobs/" + url.PathEscape(job.ID)
	var after int64
	lastState, fails := "", 0
	for {
		err := func() error {
			var cur runners.Job // fresh: omitted fields must not keep old values
			if err := c.JSON("GET", jobPath, nil, &cur); err != nil {
				return err
			}
			job = cur
			if st := job.Status + " " + job.PendingReason; st != lastState {
				lastState = st
				if job.PendingReason != "" {
					fmt.Fprintf(stdout, "status: %s (%s)\n", job.Status, job.PendingReason)
				} else {
					fmt.Fprintf(stdout, "status: %s\n", job.Status)
				}
			}
			for {
				var logs runners.JobLogs
				if err := c.JSON("GET", jobPath+"/logs?after="+strconv.FormatInt(after, 10), nil, &logs); err != nil {
					return err
				}
				if len(logs.Lines) == 0 {
					return nil
				}
				for _, l := range logs.Lines {
					if l.Seq <= after {
						continue
					}
					after = l.Seq
					fmt.Fprintf(stdout, "[%s] %s\n", l.Stream, l.Message)
				}
			}
		}()
		switch {
		case err == nil:
			fails = 0
			if runners.JobFinal(job.Status) {
				return jobResult(job)
			}
		case ctx.Err() != nil:
		default:
			var api *hubclient.APIError
			if fails++; fails > maxErrs || errors.As(err, &api) && api.Status < 500 && api.Status != 429 {
				return fmt.Errorf("wait for job %s: %w", job.ID, err)
			}
			fmt.Fprintf(stdout, "warning: %v (retrying)\n", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting: job %s is still %s on the Hub", job.ID, job.Status)
		case <-time.After(poll):
		}
	}
}

func jobResult(job runners.Job) error {
	if job.Status == runners.JobSucceeded {
		return nil
	}
	msg := fmt.Sprintf("job %s %s", job.ID, job.Status)
	if job.ExitCode != nil {
		msg += fmt.Sprintf(" (exit code %d)", *job.ExitCode)
	}
	if job.Error != nil && *job.Error != "" {
		msg += ": " + *job.Error
	}
	return errors.New(msg)
}
