package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/runnerclient"
)

// defaultAssetsWithin bounds how long the agent asks for a job's assets
// while the Hub does not answer (or answers that it cannot for a moment):
// well inside the lease (60 s) a take-up gave the job.
const defaultAssetsWithin = 30 * time.Second

// jobAssets is what a job's process receives of its assets: one variable
// per value (NAME=value), the JSON file's bytes and the masker of the
// values that must not appear in the log.
type jobAssets struct {
	env  []string
	file []byte
	mask *masker
}

// fetchAssets asks the Hub for the values of the assets job declares,
// retrying what may pass for at most assetsWithin. The Hub's refusal (an
// asset without a value for this runner, or the job no longer this
// runner's) is an error holding the Hub's message, for the job's result.
func (j *jobRunner) fetchAssets(ctx context.Context, job *claimedJob, log *slog.Logger) (*jobAssets, error) {
	within, cancel := context.WithTimeout(ctx, j.assetsWithin)
	defer cancel()
	var items []runners.AgentAsset
	err := j.a.client.Retry(within, runnerclient.Retry{Op: "fetching the job's assets", Log: log}, func(ctx context.Context) error {
		var err error
		items, err = j.a.client.JobAssets(ctx, job.ID, job.Attempt)
		return err
	})
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, ErrCredentialsRefused):
		return nil, err
	case errors.Is(err, runnerclient.ErrAssetMissing), errors.Is(err, runnerclient.ErrJobNotHeld):
		if msg := runnerclient.HubMessage(err); msg != "" {
			return nil, errors.New(msg)
		}
		return nil, fmt.Errorf("fetch the job's assets: %w", err)
	case runnerclient.Permanent(err):
		return nil, fmt.Errorf("fetch the job's assets: %w", err)
	default:
		return nil, fmt.Errorf("the Hub did not hand out the job's assets within %s: %w", j.assetsWithin, err)
	}
	ja, err := buildJobAssets(job.Assets, items)
	if err != nil {
		return nil, err
	}
	log.Info("received the job's assets", "assets", len(items))
	return ja, nil
}

// buildJobAssets turns the values the Hub handed out into the process's
// variables and file; every declared asset must be among them. Errors name
// assets, never values.
func buildJobAssets(declared []string, items []runners.AgentAsset) (*jobAssets, error) {
	got := map[string]bool{}
	file := map[string]json.RawMessage{}
	ja := &jobAssets{}
	var secrets []string
	for _, a := range items {
		vals, err := runnerclient.AssetValueStrings(a)
		if err != nil {
			return nil, fmt.Errorf("the Hub's reply: %w", err)
		}
		key := strings.ToLower(a.Name)
		if got[key] {
			return nil, fmt.Errorf("the Hub's reply: asset %s is there twice", a.Name)
		}
		got[key] = true
		base := runners.AssetEnvPrefix + strings.ToUpper(a.Name)
		for _, part := range slices.Sorted(maps.Keys(vals)) {
			v := vals[part]
			name := base
			if part != "" {
				name += "_" + part
			}
			if strings.ContainsRune(v, 0) {
				continue // cannot be an environment variable; the file has it
			}
			ja.env = append(ja.env, name+"="+v)
		}
		if a.Type != runners.AssetInteger && a.Type != runners.AssetBoolean {
			for _, v := range vals {
				secrets = append(secrets, v)
			}
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, a.Value); err != nil {
			return nil, fmt.Errorf("the Hub's reply: asset %s: the value is not JSON", a.Name)
		}
		file[a.Name] = compact.Bytes()
	}
	for _, name := range declared {
		if !got[strings.ToLower(name)] {
			return nil, fmt.Errorf("the Hub handed out no value for asset %s, which the package declares", name)
		}
	}
	data, err := json.Marshal(file)
	if err != nil {
		return nil, fmt.Errorf("the assets file: %w", err)
	}
	ja.file = data
	ja.mask = newMasker(secrets)
	return ja, nil
}

// writeAssetsFile writes data as runners.AssetsFileName in work, readable
// by the job's user only (0600), replacing a file of that name the package
// may hold; it returns the file's absolute path.
func writeAssetsFile(work string, data []byte) (string, error) {
	path, err := filepath.Abs(filepath.Join(work, runners.AssetsFileName))
	if err != nil {
		return "", fmt.Errorf("the assets file: %w", err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("the assets file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("the assets file: %w", err)
	}
	_, werr := f.Write(data)
	if err := errors.Join(werr, f.Chmod(0o600), f.Close()); err != nil {
		os.Remove(path)
		return "", fmt.Errorf("the assets file: %w", err)
	}
	return path, nil
}

// sweepAssetsFiles removes the assets files a job left when the agent was
// stopped hard while it ran.
func (j *jobRunner) sweepAssetsFiles() {
	files, _ := filepath.Glob(filepath.Join(j.jobsDir, "*", "work", runners.AssetsFileName))
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.a.log.Error("cannot remove an assets file a stopped job left", "path", f, "err", err.Error())
		}
	}
}

// masker hides values in log lines: every stretch of a line covered by one
// or more occurrences of a value (overlapping or adjacent ones too) becomes
// runners.AssetMask once. Values are tried longest first.
type masker struct {
	values []string // longest first, without repeats or empties
}

// newMasker masks values, and for each also the form it takes inside a
// JSON string and, for a value of several lines, each of its lines.
func newMasker(values []string) *masker {
	seen := map[string]bool{}
	var out []string
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, v := range values {
		add(v)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if enc.Encode(v) == nil {
			add(strings.TrimSuffix(strings.TrimSuffix(strings.TrimPrefix(b.String(), `"`), "\n"), `"`))
		}
		if strings.ContainsAny(v, "\r\n") {
			for _, line := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' }) {
				add(line)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if len(a) != len(b) {
			return len(b) - len(a)
		}
		return strings.Compare(a, b)
	})
	return &masker{values: out}
}

// apply is line with every value masked.
func (m *masker) apply(line string) string {
	if m == nil || len(m.values) == 0 {
		return line
	}
	var covered []bool
	for _, v := range m.values {
		end := 0 // past the last byte this value marked
		for i := 0; i+len(v) <= len(line); {
			k := strings.Index(line[i:], v)
			if k < 0 {
				break
			}
			start := i + k
			if covered == nil {
				covered = make([]bool, len(line))
			}
			for p := max(start, end); p < start+len(v); p++ {
				covered[p] = true
			}
			end = start + len(v)
			i = start + 1
		}
	}
	if covered == nil {
		return line
	}
	var b strings.Builder
	for i := 0; i < len(line); i++ {
		if !covered[i] {
			b.WriteByte(line[i])
			continue
		}
		b.WriteString(runners.AssetMask)
		for i+1 < len(line) && covered[i+1] {
			i++
		}
	}
	return b.String()
}
