package runners

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The runner protocol over HTTPS (docs/api.md "Runner protocol").
const (
	// HeaderProtocol carries the protocol version an agent speaks; absent means 1.
	HeaderProtocol = "Exekra-Protocol"
	// ProtocolVersion is the version this build of the agent speaks.
	ProtocolVersion = "1"
	// UserAgentPrefix starts the agent's User-Agent: exekra-runner/<version>.
	UserAgentPrefix = "exekra-runner/"
	// DefaultHeartbeatInterval is the interval an agent uses until the Hub has told it one.
	DefaultHeartbeatInterval = 15 * time.Second
)

// ProtocolVersions lists the versions the Hub speaks.
var ProtocolVersions = []string{ProtocolVersion}

// SupportsProtocol reports whether the Hub speaks v ("" means 1).
func SupportsProtocol(v string) bool {
	return slices.Contains(ProtocolVersions, strings.TrimSpace(v)) || strings.TrimSpace(v) == ""
}

// UnsupportedProtocol is the message refusing a version the Hub does not speak.
func UnsupportedProtocol(v string) string {
	if len(v) > 16 {
		v = v[:16] + "…"
	}
	return fmt.Sprintf("the Hub does not speak runner protocol %q; it speaks %s (header %s)",
		v, strings.Join(ProtocolVersions, ", "), HeaderProtocol)
}

// Credentials are a runner's HTTP Basic credentials as the gateway passes
// them on: the runner id and the hex SHA-256 of the presented secret.
type Credentials struct {
	RunnerID     string `json:"runner_id"`
	SecretSHA256 string `json:"secret_sha256"`
}

// Heartbeat is the body of POST /api/v1/runner/heartbeat.
type Heartbeat struct {
	Version       string   `json:"version"`
	Commit        string   `json:"commit,omitempty"` // the commit the agent was built from
	OS            string   `json:"os"`
	Hostname      string   `json:"hostname"`
	Metrics       Metrics  `json:"metrics"`
	RunningJobIDs []string `json:"running_job_ids"`
}

// HeartbeatRequest is a heartbeat as the gateway sends it: the credentials,
// the Exekra-Protocol header ("" means 1), the User-Agent and the body.
type HeartbeatRequest struct {
	Credentials
	Protocol  string `json:"protocol,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	Heartbeat
}

// HeartbeatResponse tells the agent when to come back and which of its jobs to stop.
type HeartbeatResponse struct {
	HeartbeatIntervalSeconds int       `json:"heartbeat_interval_seconds"`
	ServerTime               time.Time `json:"server_time"`
	CancelJobIDs             []string  `json:"cancel_job_ids"`
}

// AuthenticateRequest checks a runner's credentials (for the runner routes
// other than the heartbeat). Protocol is the Exekra-Protocol header ("" means 1).
type AuthenticateRequest struct {
	Credentials
	Protocol string `json:"protocol,omitempty"`
}

// Authenticated is the runner the credentials belong to.
type Authenticated struct {
	Runner Runner `json:"runner"`
}
