// Package runner is the runners service's registry domain: registered
// runners and their machine credentials, heartbeats and presence, and the
// rules that guard them (names unique, the license's runner limit, only a
// hash of a secret kept, a regenerated or deleted credential refused on the
// very next request, failed authentications counted, throttled and audited).
package runner

import (
	"context"
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/tokenbucket"
)

// Runner is a registered runner as the registry holds it.
type Runner struct {
	ID          string
	Name        string
	Environment string
	Labels      []string
	CreatedAt   time.Time
	// Seen is what PostgreSQL last received from heartbeats (written in
	// batches, so a few seconds behind Presence); nil until the first flush.
	Seen *Presence
}

// Metrics are what a runner reports about its machine.
type Metrics struct {
	CPUPercent    float64
	MemoryPercent float64
	DiskFreeBytes int64
}

// Presence is what a runner's last heartbeat told. Redis keeps the latest
// (with the running jobs); PostgreSQL gets all but the jobs in batches.
type Presence struct {
	LastSeen      time.Time
	Address       string // the client address as the gateway saw it
	UserAgent     string
	Version       string
	Commit        string
	OS            string
	Hostname      string
	Metrics       Metrics
	RunningJobIDs []string
}

// View is a runner with its freshest presence and derived status.
type View struct {
	Runner
	Presence *Presence // nil: never connected
	Status   string
}

// Credential is a runner's machine credential: the SHA-256 of its secret and
// the version that orders every change of it (registration, each
// regeneration, the deletion), with the registry record it unlocks. The
// store makes versions from its clock, each more than the one before, so
// they also order changes made after the database was restored from a backup
// after entries cached before it.
type Credential struct {
	Runner       Runner
	SecretSHA256 []byte
	Version      int64
}

// String keeps the hash out of logs and %v output.
func (c Credential) String() string {
	return fmt.Sprintf("credential v%d of runner %s", c.Version, c.Runner.ID)
}

// Cursor is the position after the last runner of a page (by name, then id).
type Cursor struct {
	Name string
	ID   string
}

// CredentialFunc runs inside the transaction that changes a credential,
// after the change and before the commit; it returns the event to record.
// An error rolls the change back.
type CredentialFunc func(c Credential) (audit.Event, error)

// Store keeps the registry in PostgreSQL. Changes record their audit event
// in the same transaction. Errors carry errs kinds: NotFound for an unknown
// runner, Conflict for a taken name.
type Store interface {
	// RegisterRunner inserts c, serialized with every other registration:
	// allow is asked with the number of runners before it, under the lock.
	// It returns c with its first version.
	RegisterRunner(ctx context.Context, c Credential, allow func(count int) error, ev audit.Event) (Credential, error)
	Credential(ctx context.Context, id string) (Credential, error)
	RunnerByID(ctx context.Context, id string) (Runner, error)
	// ListRunners returns up to limit runners after the cursor (nil: from the
	// start), by name then id, of environment when it is not "".
	ListRunners(ctx context.Context, environment string, after *Cursor, limit int) ([]Runner, error)
	CountRunners(ctx context.Context) (int, error)
	// RotateSecret stores hash as the runner's secret hash at the next version.
	RotateSecret(ctx context.Context, id string, hash []byte, fn CredentialFunc) (Credential, error)
	// DeleteRunner deletes the runner; fn gets its credential at the next version.
	DeleteRunner(ctx context.Context, id string, fn CredentialFunc) error
	// RecordPresence writes the presences (by runner id) in one statement,
	// never replacing a newer sighting with an older one.
	RecordPresence(ctx context.Context, seen map[string]Presence) error
	// RecordEvent writes an event that goes with no change.
	RecordEvent(ctx context.Context, ev audit.Event) error
}

// CacheState is what the credential cache holds for a runner.
type CacheState string

// Cache states.
const (
	CacheMissing CacheState = ""        // nothing: read PostgreSQL
	CacheValid   CacheState = "valid"   // the credential
	CachePending CacheState = "pending" // a change is being committed: read PostgreSQL
	CacheDeleted CacheState = "deleted" // the runner was deleted
)

// CacheEntry is one runner's entry in the credential cache.
type CacheEntry struct {
	State      CacheState
	Credential Credential // Version is set in every state but CacheMissing
}

// CredentialCache keeps credentials in Redis, shared by every instance, so
// authenticating costs no PostgreSQL round trip. Put is ordered by version:
// it never replaces an entry of a higher version, nor one of the same version
// unless that one is pending and the new one is not; so a fill from a read
// that a change overtook cannot bring an old secret back.
type CredentialCache interface {
	// Lookup returns runner id's entry and how long until lock has a token
	// (0 when it has one): authentication reads both, in one round trip.
	// With the zero Bucket no lock is read.
	Lookup(ctx context.Context, id string, now time.Time, lock Bucket) (CacheEntry, time.Duration, error)
	Put(ctx context.Context, e CacheEntry) error
}

// Presences keeps presence in Redis and the set of runners whose presence
// PostgreSQL has not received yet.
type Presences interface {
	// Record stores p as id's presence and marks id for the next flush.
	Record(ctx context.Context, id string, p Presence) error
	// Presences returns the stored presences of ids (absent ones are left out).
	Presences(ctx context.Context, ids []string) (map[string]Presence, error)
	Forget(ctx context.Context, id string) error
	// TakeDirty removes and returns up to max marked runner ids.
	TakeDirty(ctx context.Context, max int) ([]string, error)
	// MarkDirty marks ids again (after a failed flush).
	MarkDirty(ctx context.Context, ids []string) error
}

// Bucket is a token bucket: at most Burst tokens, one more every Per.
type Bucket = tokenbucket.Bucket

// Limiter keeps token buckets shared by every instance of the service.
type Limiter interface {
	// Take takes a token, or none when the bucket is empty and then says how
	// long until it has one again.
	Take(ctx context.Context, now time.Time, buckets []Bucket) (wait time.Duration, err error)
}

// License asks the licensing service whether runners registered runners
// are allowed; refusals are license_required or license_limit errors.
type License interface {
	AllowRunners(ctx context.Context, runners int) error
}

// Meter counts what the service's metrics show.
type Meter interface {
	// AuthFailed counts a refused runner authentication by reason.
	AuthFailed(reason string)
}
