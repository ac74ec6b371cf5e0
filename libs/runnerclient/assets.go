package runnerclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/exekra/hub/libs/contract/runners"
	"github.com/exekra/hub/libs/errs"
)

// maxAssetsReply bounds the reply of JobAssets: every asset a package may
// declare at its largest value, with room for names and JSON.
const maxAssetsReply = runners.MaxAssetsDeclared * (runners.MaxAssetValueBytes + 1024)

// ErrAssetMissing is the Hub answering 409 asset_missing to JobAssets: an
// asset the job's package declares has no value for this runner. The
// HubError's Message names the asset and the scope. Retrying cannot help.
var ErrAssetMissing = errors.New("an asset the job's package declares has no value for this runner")

// ErrJobNotHeld is the Hub answering 403 permission_denied to a call about
// a job: this runner does not hold that attempt of it (any more). The
// HubError's Message says why. Retrying cannot help.
var ErrJobNotHeld = errors.New("this runner does not hold the job's attempt")

// JobAssets fetches the values, for this runner's scope, of the assets the
// job's package declares, for attempt (0: the current one). It is called
// once; Retry repeats it. A 409 asset_missing is ErrAssetMissing and a 403
// is ErrJobNotHeld (errors.Is), both permanent; the *HubError in the chain
// carries the Hub's message. Errors never hold a value: a reply that does
// not read is ErrBadReply naming the asset at most.
func (c *Client) JobAssets(ctx context.Context, jobID string, attempt int) ([]runners.AgentAsset, error) {
	const op = "assets"
	switch {
	case jobID == "":
		return nil, fmt.Errorf("%s: %w: the job id is empty", op, ErrBadInput)
	case attempt < 0:
		return nil, fmt.Errorf("%s: %w: attempt %d is negative", op, ErrBadInput, attempt)
	}
	ctx, done := context.WithTimeout(ctx, CallTimeout)
	defer done()
	resp, err := c.send(ctx, op, http.MethodGet, runners.JobAssetsPath(jobID, attempt), nil,
		http.Header{"Cache-Control": {"no-store"}})
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAssetsReply+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer clear(data) // the values do not outlive the decoding
	if len(data) > maxAssetsReply {
		return nil, fmt.Errorf("%s: %w: larger than %d bytes", op, ErrBadReply, maxAssetsReply)
	}
	var out runners.AgentAssets
	// The decoder's own error may quote the reply: it is not passed on.
	if json.Unmarshal(data, &out) != nil {
		return nil, fmt.Errorf("%s: %w: not a JSON object of assets", op, ErrBadReply)
	}
	for i, a := range out.Items {
		if err := checkAgentAsset(a); err != nil {
			return nil, fmt.Errorf("%s: %w: item %d: %w", op, ErrBadReply, i, err)
		}
		out.Items[i].Value = bytes.Clone(a.Value) // data is cleared on return
	}
	if out.Items == nil {
		out.Items = []runners.AgentAsset{}
	}
	return out.Items, nil
}

// checkAgentAsset checks that a's value is JSON of its type; what it says
// names the asset, never its value.
func checkAgentAsset(a runners.AgentAsset) error {
	if a.Name == "" {
		return errors.New("no asset name")
	}
	if !slices.Contains(runners.AssetTypes, a.Type) {
		return fmt.Errorf("asset %s: unknown type %q", a.Name, a.Type)
	}
	if _, err := AssetValueStrings(a); err != nil {
		return err
	}
	return nil
}

// AssetValueStrings reads a's value by its type: a text or secret gives
// {"": value}, an integer or boolean its JSON literal under "", a credential
// {"USERNAME": ..., "PASSWORD": ...}. The error names the asset and what is
// wrong, never the value.
func AssetValueStrings(a runners.AgentAsset) (map[string]string, error) {
	bad := func(want string) error { return fmt.Errorf("asset %s: the value is not %s", a.Name, want) }
	switch a.Type {
	case runners.AssetText, runners.AssetSecret:
		var s string
		if json.Unmarshal(a.Value, &s) != nil {
			return nil, bad("a string")
		}
		return map[string]string{"": s}, nil
	case runners.AssetInteger:
		var n json.Number
		d := json.NewDecoder(bytes.NewReader(a.Value))
		d.UseNumber()
		if d.Decode(&n) != nil {
			return nil, bad("an integer")
		}
		if _, err := n.Int64(); err != nil {
			return nil, bad("an integer")
		}
		return map[string]string{"": n.String()}, nil
	case runners.AssetBoolean:
		var b bool
		if json.Unmarshal(a.Value, &b) != nil {
			return nil, bad("a boolean")
		}
		return map[string]string{"": fmt.Sprint(b)}, nil
	case runners.AssetCredential:
		var cr runners.Credential
		if json.Unmarshal(a.Value, &cr) != nil {
			return nil, bad(`{"username", "password"}`)
		}
		return map[string]string{"USERNAME": cr.Username, "PASSWORD": cr.Password}, nil
	}
	return nil, fmt.Errorf("asset %s: unknown type %q", a.Name, a.Type)
}

// isAssetMissing and isJobNotHeld classify a HubError by status and code.
func (e *HubError) isAssetMissing() bool {
	return e.Status == http.StatusConflict && e.Code == string(errs.AssetMissing)
}

func (e *HubError) isJobNotHeld() bool {
	return e.Status == http.StatusForbidden
}
