// Package buildinfo holds the version stamped into every binary at build time
// (go build -ldflags "-X github.com/exekra/hub/libs/buildinfo.Version=1.2.3").
package buildinfo

// Version of this build.
var Version = "0.1.0-dev"
