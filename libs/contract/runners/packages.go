package runners

import (
	"encoding/json"
	"time"
)

// Subjects of packages (user side). The gateway checks the route's role;
// the service checks it again: DEVELOPER (or ADMIN) to record, any
// signed-in role to read. The package bytes never travel over these
// subjects: the gateway keeps them in the JetStream object store
// (pkgstore.Bucket), named by their SHA-256.
const (
	// SubjectPackageRecord records a published version whose bytes the
	// gateway has stored: RecordPackageRequest -> Package. A name and
	// version that exist are a conflict (packages are immutable), even with
	// the same bytes. Audited as package.publish.
	SubjectPackageRecord   = "exekra.runners.v1.packages.record"
	SubjectPackageList     = "exekra.runners.v1.packages.list"     // ListPackagesRequest -> ListPackagesResponse (latest version of each)
	SubjectPackageVersions = "exekra.runners.v1.packages.versions" // PackageVersionsRequest -> PackageVersions (newest first by semver)
	SubjectPackageGet      = "exekra.runners.v1.packages.get"      // PackageRequest -> Package ("latest" allowed)
)

// SubjectPackageAccess is the runner side of GET
// /api/v1/runner/packages/{name}/{version}: PackageAccessRequest ->
// PackageAccess. It checks the credentials as for a heartbeat and that the
// runner holds (claimed or running) a job of that package version;
// otherwise permission_denied.
const SubjectPackageAccess = "exekra.runners.v1.agent.package_access"

// ActionPackagePublish is the audit action of a publish.
const ActionPackagePublish = "package.publish"

// Package is a published package version (docs/api.md "Packages").
type Package struct {
	Name        string    `json:"name"`
	Version     string    `json:"version"`
	SHA256      string    `json:"sha256"`
	SizeBytes   int64     `json:"size_bytes"`
	PublishedBy string    `json:"published_by"`
	PublishedAt time.Time `json:"published_at"`
	// Parameters is what the manifest declares: null when it declares
	// nothing (a job may carry any parameters), [] when it declares that
	// the package takes none.
	Parameters []Parameter `json:"parameters"`
	// Assets names the assets the manifest declares ("assets" in
	// exekra.json): a job of this version receives their values. [] when
	// it declares none.
	Assets []string `json:"assets"`
}

// Types of a declared parameter.
const (
	ParamString  = "string"
	ParamInteger = "integer" // a JSON number without a fractional part
	ParamNumber  = "number"
	ParamBoolean = "boolean"
)

// ParamTypes lists every parameter type.
var ParamTypes = []string{ParamString, ParamInteger, ParamNumber, ParamBoolean}

// Limits of a parameter declaration (pkgstore.ValidateParameters).
const (
	MaxParameters       = 100  // declared by one package
	MaxParamNameLen     = 64   // [A-Za-z_][A-Za-z0-9_]*
	MaxParamDescription = 1000 // characters
	MaxParamEnum        = 100  // allowed values
	MaxParamValueBytes  = 4096 // a default or an allowed value, as JSON
)

// Parameter is one parameter a package declares in exekra.json
// ("parameters") and a job of it is checked against (docs/api.md
// "Packages"). Default and Enum hold JSON values of Type; a required
// parameter has no default.
type Parameter struct {
	Name        string            `json:"name"`
	Type        string            `json:"type"`
	Required    bool              `json:"required"`
	Default     json.RawMessage   `json:"default,omitempty"`
	Description string            `json:"description,omitempty"`
	Enum        []json.RawMessage `json:"enum,omitempty"`
}

// RecordPackageRequest records a package version; the publisher is the
// caller (Exekra-Actor). Entrypoint is the manifest's, for the audit record.
type RecordPackageRequest struct {
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	SHA256     string   `json:"sha256"`
	SizeBytes  int64    `json:"size_bytes"`
	Entrypoint []string `json:"entrypoint,omitempty"`
	// Parameters is the manifest's declaration: nil when it has none.
	Parameters []Parameter `json:"parameters"`
	// Assets is the manifest's "assets": nil or [] when it declares none.
	Assets []string `json:"assets,omitempty"`
}

// ListPackagesRequest pages through package names in order. Limit 0 means
// 50; at most 500.
type ListPackagesRequest struct {
	Limit  int    `json:"limit,omitempty"`
	Cursor string `json:"cursor,omitempty"`
}

// ListPackagesResponse holds the latest version (by semver) of each
// package of the page; NextCursor is "" after the last.
type ListPackagesResponse struct {
	Items      []Package `json:"items"`
	NextCursor string    `json:"next_cursor"`
}

// PackageVersionsRequest names a package.
type PackageVersionsRequest struct {
	Name string `json:"name"`
}

// PackageVersions lists every version of a package, newest first by semver.
// A name without versions is not_found.
type PackageVersions struct {
	Items []Package `json:"items"`
}

// PackageRequest names one version; "latest" is the newest by semver.
type PackageRequest struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// PackageAccessRequest asks to download a package version as a runner.
type PackageAccessRequest struct {
	AgentRequest
	Name    string `json:"name"`
	Version string `json:"version"`
}

// PackageAccess is what the gateway needs to stream the bytes.
type PackageAccess struct {
	SHA256    string `json:"sha256"`
	SizeBytes int64  `json:"size_bytes"`
}
