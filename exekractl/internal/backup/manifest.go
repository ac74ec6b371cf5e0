// Package backup makes and restores a disaster-recovery archive of a Hub:
// a pg_dump of every service schema, the package bytes of the JetStream
// object store, the install dir's settings and secrets (config/ and .env),
// and a manifest with versions and the SHA-256 of every member.
//
// Backup runs against a running Hub. Restore runs against a stopped, fresh
// install: it writes the settings, loads the schemas into databases that
// must not hold them yet (starting the pilot's private PostgreSQL itself
// when the install uses one) and puts the packages back into the object
// store (starting the install's embedded NATS itself when it uses one).
// Redis and the AUDIT stream are transient and not part of it.
package backup

import (
	"time"
)

// Format names the archive layout; restore refuses any other.
const Format = "exekra-hub-backup/1"

// ManifestName is the archive's first member.
const ManifestName = "manifest.json"

// Member name prefixes: database dumps, package zips, install-dir files.
const (
	dirDatabase = "database/"
	dirPackages = "packages/"
	dirHome     = "home/"
)

// Manifest describes an archive.
type Manifest struct {
	Format     string    `json:"format"`
	CreatedAt  time.Time `json:"created_at"`
	Version    string    `json:"exekractl_version"`
	Hostname   string    `json:"hostname"`
	Home       string    `json:"home"`
	PgDump     string    `json:"pg_dump_version"`
	NATSServer string    `json:"nats_server_version,omitempty"`
	Schemas    []Schema  `json:"schemas"`
	Packages   []Package `json:"packages"`
	Files      []string  `json:"files"` // install-dir files, relative to it (config/..., .env)
	Warnings   []string  `json:"warnings,omitempty"`
	// AssetKeyFile is the install's asset key file, never in the archive;
	// AssetKeys the keys the archived asset values are sealed under.
	AssetKeyFile string        `json:"asset_key_file,omitempty"`
	AssetKeys    []AssetKeyUse `json:"asset_keys,omitempty"`
	Members      []Member      `json:"members"` // every member but the manifest
}

// Schema is one service's pg_dump (custom format).
type Schema struct {
	Service       string      `json:"service"`
	Schema        string      `json:"schema"`
	File          string      `json:"file"`
	Database      string      `json:"database"` // host:port/name, without credentials
	ServerVersion string      `json:"server_version"`
	Snapshot      string      `json:"snapshot"` // schemas of one database share one snapshot
	Migrations    []Migration `json:"migrations"`
}

// Migration is one row of <schema>.schema_migrations.
type Migration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
}

// Package is one object of the package store (named by its SHA-256).
type Package struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	File   string `json:"file"`
}

// Member is one archive member with its digest.
type Member struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Mode   uint32 `json:"mode"`
}

// services and their schemas, in the supervisor's start order.
var services = []struct{ service, schema string }{
	{"identity", "identity"}, {"licensing", "licensing"}, {"runners", "runners"}, {"audit", "audit"},
}

// DefaultName is the archive's file name when --out is not given.
func DefaultName(now time.Time) string {
	return "exekra-hub-backup-" + now.UTC().Format("20060102T1504Z") + ".tar.gz"
}

func versionsOf(ms []Migration) []int {
	out := make([]int, len(ms))
	for i, m := range ms {
		out[i] = m.Version
	}
	return out
}
