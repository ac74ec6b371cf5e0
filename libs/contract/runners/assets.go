package runners

import (
	"encoding/json"
	"strconv"
	"time"
)

// Assets are the named settings and credentials robots need (docs/api.md
// "Assets"). Every value is sealed at rest (envelope encryption, see
// libs/envelope) by the runners service, which owns them.
//
// Roles: any signed-in role lists and reads assets (their metadata, and the
// values of text, integer and boolean assets); DEVELOPER and ADMIN create,
// change and delete assets and set or delete their values. Values of
// credential and secret assets are write-only for people: no user route
// returns them once written. A runner reads values only through
// SubjectAgentAssets, while it holds a job whose package declares them.
const (
	SubjectAssetCreate      = "exekra.runners.v1.assets.create"       // CreateAssetRequest -> Asset
	SubjectAssetGet         = "exekra.runners.v1.assets.get"          // AssetRequest -> Asset
	SubjectAssetList        = "exekra.runners.v1.assets.list"         // ListAssetsRequest -> ListAssetsResponse
	SubjectAssetUpdate      = "exekra.runners.v1.assets.update"       // UpdateAssetRequest -> Asset
	SubjectAssetDelete      = "exekra.runners.v1.assets.delete"       // AssetRequest -> AssetDeleted
	SubjectAssetValueSet    = "exekra.runners.v1.assets.value_set"    // SetAssetValueRequest -> Asset
	SubjectAssetValueDelete = "exekra.runners.v1.assets.value_delete" // AssetValueRequest -> Asset

	// SubjectAgentAssets is the runner side of GET
	// /api/v1/runner/jobs/{id}/assets: AgentAssetsRequest -> AgentAssets.
	// It checks the credentials as for a heartbeat, that the runner holds
	// the job's current attempt (claimed or running), and hands out the
	// value, for this runner's scope, of every asset the job's package
	// declares; each read is audited (ActionAssetRead). A declared asset
	// without a value for the scope is asset_missing naming it.
	SubjectAgentAssets = "exekra.runners.v1.agent.assets"
)

// HTTP routes of assets. :name is the asset's name; :environment one of
// Environments; :runner_id a registered runner's id.
const (
	PathAssets                = "/api/v1/assets"
	PathAsset                 = "/api/v1/assets/:name"
	PathAssetGlobalValue      = "/api/v1/assets/:name/values/global"                    // PUT AssetValueBody, DELETE
	PathAssetEnvironmentValue = "/api/v1/assets/:name/values/environments/:environment" // PUT AssetValueBody, DELETE
	PathAssetRunnerValue      = "/api/v1/assets/:name/values/runners/:runner_id"        // PUT AssetValueBody, DELETE
	// PathJobAssets is the runner protocol's: GET -> AgentAssets, with
	// ?attempt=N (QueryAssetsAttempt) naming the attempt the agent runs.
	PathJobAssets      = "/api/v1/runner/jobs/:id/assets"
	QueryAssetsAttempt = "attempt"
)

// How the agent hands values to a job's process: an environment variable
// per asset (AssetEnvPrefix + the name in upper case; a credential as
// <that>_USERNAME and <that>_PASSWORD) and a 0600 JSON file (name -> value)
// in the job's directory named by AssetsFileEnv, removed after the job.
// Every credential, secret and text value it received is replaced by
// AssetMask in the log lines it uploads.
const (
	AssetEnvPrefix = "EXEKRA_ASSET_"
	AssetsFileEnv  = "EXEKRA_ASSETS_FILE"
	AssetsFileName = "exekra-assets.json"
	AssetMask      = "***"
)

// Limits of assets.
const (
	MaxAssetValueBytes  = 16384 // a value, as JSON
	MaxAssetNameLen     = 64    // [A-Za-z_][A-Za-z0-9_]*, unique ignoring case
	MaxAssetDescription = 1000  // characters
	MaxAssetsDeclared   = 100   // by one package ("assets" in exekra.json)
)

// DefaultAssetKeyFile is where the key-encryption keys live, relative to
// the install dir (the runners.asset_key_file setting): created 0600 at
// the first start of a Hub that has no sealed value yet, never in the
// database, never in a backup. The runners service reads it again when it
// changes (it looks every AssetKeyReloadInterval).
const (
	DefaultAssetKeyFile    = "config/asset-keys.json"
	AssetKeyReloadInterval = 2 * time.Second
)

// AssetPath is PathAsset of asset name.
func AssetPath(name string) string { return fill(PathAsset, name) }

// AssetGlobalValuePath is PathAssetGlobalValue of asset name.
func AssetGlobalValuePath(name string) string { return fill(PathAssetGlobalValue, name) }

// AssetEnvironmentValuePath is PathAssetEnvironmentValue of asset name and environment.
func AssetEnvironmentValuePath(name, env string) string {
	return fill(PathAssetEnvironmentValue, name, env)
}

// AssetRunnerValuePath is PathAssetRunnerValue of asset name and runner id.
func AssetRunnerValuePath(name, runnerID string) string {
	return fill(PathAssetRunnerValue, name, runnerID)
}

// JobAssetsPath is PathJobAssets of job id for attempt.
func JobAssetsPath(jobID string, attempt int) string {
	return fill(PathJobAssets, jobID) + "?" + QueryAssetsAttempt + "=" + strconv.Itoa(attempt)
}

// Types of an asset. A value is JSON of its type: a string (text, secret),
// an integer, a boolean, or {"username": "...", "password": "..."}
// (credential, both non-empty strings).
const (
	AssetText       = "text"
	AssetInteger    = "integer"
	AssetBoolean    = "boolean"
	AssetCredential = "credential"
	AssetSecret     = "secret"
)

// AssetTypes lists every asset type.
var AssetTypes = []string{AssetText, AssetInteger, AssetBoolean, AssetCredential, AssetSecret}

// AssetWriteOnly reports whether values of type t are never shown to people.
func AssetWriteOnly(t string) bool { return t == AssetCredential || t == AssetSecret }

// Scopes of a value; the most specific one a runner has wins: runner, then
// environment, then global.
const (
	ScopeGlobal      = "global"
	ScopeEnvironment = "environment"
	ScopeRunner      = "runner"
)

// Credential is the value of a credential asset.
type Credential struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// AssetValue is one scope's value as people see it. Value is the value
// for text, integer and boolean assets and null for credential and secret
// ones (write-only). Environment is set for the environment scope, RunnerID
// (and RunnerName, null once the runner is deleted) for the runner scope.
type AssetValue struct {
	Scope       string          `json:"scope"`
	Environment string          `json:"environment,omitempty"`
	RunnerID    string          `json:"runner_id,omitempty"`
	RunnerName  *string         `json:"runner_name,omitempty"`
	Value       json.RawMessage `json:"value"`
	Version     int             `json:"version"`
	UpdatedBy   string          `json:"updated_by"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Asset is an asset as the API shows it, with its values (global first,
// then environments in Environments order, then runners by name).
type Asset struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Type        string       `json:"type"`
	Description string       `json:"description"`
	WriteOnly   bool         `json:"write_only"`
	Values      []AssetValue `json:"values"`
	CreatedBy   string       `json:"created_by"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedBy   string       `json:"updated_by"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// CreateAssetRequest creates an asset (POST /api/v1/assets); Value, when
// set, becomes its global value.
type CreateAssetRequest struct {
	Name        string          `json:"name"`
	Type        string          `json:"type"`
	Description string          `json:"description,omitempty"`
	Value       json.RawMessage `json:"value,omitempty"`
}

// AssetRequest names an asset.
type AssetRequest struct {
	Name string `json:"name"`
}

// UpdateAssetRequest changes an asset's description (PATCH
// /api/v1/assets/{name}); the name and type never change.
type UpdateAssetRequest struct {
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
}

// AssetDeleted answers a delete.
type AssetDeleted struct {
	Name    string `json:"name"`
	Deleted bool   `json:"deleted"`
}

// ListAssetsRequest pages through assets by name. Limit 0 means 50; at
// most 500. Type filters when set.
type ListAssetsRequest struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Type   string `json:"type,omitempty"`
}

// ListAssetsResponse is a page of assets; NextCursor is "" after the last.
type ListAssetsResponse struct {
	Items      []Asset `json:"items"`
	NextCursor string  `json:"next_cursor"`
}

// AssetValueBody is the body of a PUT on a value route.
type AssetValueBody struct {
	Value json.RawMessage `json:"value"`
}

// AssetValueRequest names one scope's value of an asset: Environment for
// ScopeEnvironment, RunnerID for ScopeRunner.
type AssetValueRequest struct {
	Name        string `json:"name"`
	Scope       string `json:"scope"`
	Environment string `json:"environment,omitempty"`
	RunnerID    string `json:"runner_id,omitempty"`
}

// SetAssetValueRequest sets (creates or replaces) one scope's value.
type SetAssetValueRequest struct {
	AssetValueRequest
	Value json.RawMessage `json:"value"`
}

// AgentAssetsRequest asks for the assets of a job the runner holds.
// Attempt 0 means the current attempt.
type AgentAssetsRequest struct {
	AgentRequest
	JobID   string `json:"job_id"`
	Attempt int    `json:"attempt,omitempty"`
}

// AgentAsset is one value handed to a runner.
type AgentAsset struct {
	Name  string          `json:"name"`
	Type  string          `json:"type"`
	Scope string          `json:"scope"`
	Value json.RawMessage `json:"value"`
}

// AgentAssets holds the values of every asset the job's package declares
// ([] when it declares none).
type AgentAssets struct {
	Items []AgentAsset `json:"items"`
}

// Audit actions of assets. Details never carry a value; a value change
// carries the scope and the new version.
const (
	ActionAssetCreate      = "asset.create"
	ActionAssetUpdate      = "asset.update"
	ActionAssetDelete      = "asset.delete"
	ActionAssetValueSet    = "asset.value.set"
	ActionAssetValueDelete = "asset.value.delete"
	ActionAssetRead        = "asset.read"        // by a runner: asset, job, attempt, runner, scope
	ActionAssetReadDenied  = "asset.read.denied" // a runner asked without holding the job (or for another package)
	ActionAssetKeyRotate   = "asset.key.rotate"  // a new primary key-encryption key came into use
)
