// Package runners is the NATS contract of the runners service (v1) and the
// runner protocol the gateway and the exekra-runner agent share.
//
// Admin side: the gateway authenticates the user, checks the route's role and
// sends the actor in Exekra-Actor; the service checks the role again (ADMIN for
// register, delete and regenerate; any signed-in role for list and get).
//
// Runner side: the gateway reads HTTP Basic (runner id, machine secret), sends
// the hex SHA-256 of the secret (SecretSHA256) — never the secret itself —
// with the Exekra-Protocol header's value, the User-Agent and the request
// body; the source address travels in Exekra-Source-Ip as for every request.
package runners

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// SubjectCount answers how many runners are registered (license usage).
const SubjectCount = "exekra.runners.v1.runners.count"

// CountRequest has no fields.
type CountRequest struct{}

// Count is the number of registered runners.
type Count struct {
	Runners int `json:"runners"`
}

// SubjectCensus counts runners by environment and status (any signed-in
// role; the dashboard): CensusRequest -> Census.
const SubjectCensus = "exekra.runners.v1.runners.census"

// CensusRequest has no fields.
type CensusRequest struct{}

// Census holds one row per environment and status, zeros included.
type Census struct {
	Rows []CensusRow `json:"rows"`
}

// CensusRow is how many runners of an environment have a status.
type CensusRow struct {
	Environment string `json:"environment"`
	Status      string `json:"status"`
	Runners     int    `json:"runners"`
}

// Subjects of the registry (admin side).
const (
	SubjectRegister = "exekra.runners.v1.runners.register" // ADMIN: RegisterRequest -> Registered
	SubjectList     = "exekra.runners.v1.runners.list"     // any role: ListRequest -> ListResponse
	SubjectGet      = "exekra.runners.v1.runners.get"      // any role: GetRequest -> Runner
	SubjectDelete   = "exekra.runners.v1.runners.delete"   // ADMIN: DeleteRequest -> DeleteResponse
	// SubjectRegenerateSecret replaces a runner's machine secret (ADMIN):
	// RegenerateSecretRequest -> MachineSecret. When the reply arrives the old
	// secret already fails on every gateway.
	SubjectRegenerateSecret = "exekra.runners.v1.runners.regenerate_secret"
)

// Subjects of the runner protocol (runner side).
const (
	SubjectHeartbeat = "exekra.runners.v1.agent.heartbeat" // HeartbeatRequest -> HeartbeatResponse
	// SubjectAuthenticate checks a runner's credentials for the other runner
	// routes (jobs): AuthenticateRequest -> Authenticated.
	SubjectAuthenticate = "exekra.runners.v1.agent.authenticate"
)

// Environments a runner belongs to.
const (
	EnvDevelopment = "Development"
	EnvStaging     = "Staging"
	EnvProduction  = "Production"
)

// Environments lists every environment in order.
var Environments = []string{EnvDevelopment, EnvStaging, EnvProduction}

// Derived runner statuses.
const (
	StatusOnline         = "online"  // a heartbeat within 3 intervals
	StatusBusy           = "busy"    // online and running a job
	StatusOffline        = "offline" // seen before, not within 3 intervals
	StatusNeverConnected = "never_connected"
)

// Statuses lists every status.
var Statuses = []string{StatusOnline, StatusBusy, StatusOffline, StatusNeverConnected}

// Runner is a runner as the API shows it: never its secret or its hash.
// Strings the runner has not reported yet are "" and last_seen_at is null
// until the first heartbeat; current_job_id stays null until jobs exist.
type Runner struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Environment   string     `json:"environment"`
	Labels        []string   `json:"labels"`
	Status        string     `json:"status"`
	LastSeenAt    *time.Time `json:"last_seen_at"`
	ConnectedFrom string     `json:"connected_from"`
	Version       string     `json:"version"` // the agent's version
	Commit        string     `json:"commit"`  // the commit the agent was built from
	OS            string     `json:"os"`
	Hostname      string     `json:"hostname"`
	Metrics       Metrics    `json:"metrics"`
	CurrentJobID  *string    `json:"current_job_id"`
	CreatedAt     time.Time  `json:"created_at"`
}

// Metrics are what a runner last reported about its machine.
type Metrics struct {
	CPUPercent    float64 `json:"cpu_percent"`
	MemoryPercent float64 `json:"memory_percent"`
	DiskFreeBytes int64   `json:"disk_free_bytes"`
}

// RegisterRequest registers a runner (POST /api/v1/runners).
type RegisterRequest struct {
	Name        string   `json:"name"`
	Environment string   `json:"environment"`
	Labels      []string `json:"labels,omitempty"`
}

// Registered is a new runner and its machine secret, shown only here.
type Registered struct {
	Runner        Runner `json:"runner"`
	MachineSecret string `json:"machine_secret"`
}

// ListRequest pages through runners by name. Limit 0 means 50; at most 500.
// Environment and Status filter when set.
type ListRequest struct {
	Limit       int    `json:"limit,omitempty"`
	Cursor      string `json:"cursor,omitempty"`
	Environment string `json:"environment,omitempty"`
	Status      string `json:"status,omitempty"`
}

// ListResponse is one page; NextCursor is "" after the last.
type ListResponse struct {
	Items      []Runner `json:"items"`
	NextCursor string   `json:"next_cursor"`
}

// GetRequest names one runner.
type GetRequest struct {
	ID string `json:"id"`
}

// DeleteRequest deletes a runner; its credentials fail at once.
type DeleteRequest struct {
	ID string `json:"id"`
}

// DeleteResponse has no fields.
type DeleteResponse struct{}

// RegenerateSecretRequest names the runner whose secret is replaced.
type RegenerateSecretRequest struct {
	ID string `json:"id"`
}

// MachineSecret is a new machine secret, shown only here.
type MachineSecret struct {
	MachineSecret string `json:"machine_secret"`
}

// SecretPrefix starts every machine secret.
const SecretPrefix = "exk_ms_"

// SecretSHA256 is what the gateway sends for a presented machine secret:
// the lower-case hex SHA-256 of its bytes.
func SecretSHA256(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}
