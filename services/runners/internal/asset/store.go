package asset

import (
	"context"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/envelope"
)

// Stored is an asset as the store keeps it, with its sealed values (global
// first, then environments in runners.Environments order, then runners by
// name).
type Stored struct {
	ID, Name, Type, Description string
	CreatedBy, UpdatedBy        string
	CreatedAt, UpdatedAt        time.Time
	Values                      []StoredValue
}

// StoredValue is one scope's sealed value. ScopeKey is "" (global), the
// environment or the runner's id; RunnerName is the store's reading of the
// runner's name (nil once the runner is gone), never written.
type StoredValue struct {
	Scope, ScopeKey string
	RunnerName      *string
	Version         int
	Sealed          envelope.Sealed
	UpdatedBy       string
	UpdatedAt       time.Time
}

// Cursor is where a page by name starts after.
type Cursor struct{ Name, ID string }

// Held is a job a runner holds, as a read of its assets needs it.
type Held struct {
	Attempt int
	Package string
	Version string
	Assets  []string // the names the package version declares
}

// Availability tells whether a declared asset exists and has a value that
// could reach a job.
type Availability struct {
	Name     string // as the asset is named ("" : no such asset)
	HasValue bool
}

// Store keeps assets in PostgreSQL. Errors meant for the user are
// errs-coded (NotFound, Conflict).
type Store interface {
	// CreateAsset inserts a (and its values, whose versions it counts as
	// written) with ev; a taken name (whatever its case) is a conflict.
	CreateAsset(ctx context.Context, a Stored, ev audit.Event) error
	// Asset returns the asset named name, whatever its case.
	Asset(ctx context.Context, name string) (Stored, error)
	// ListAssets pages by name (case-insensitively) after after; typ ""
	// is every type.
	ListAssets(ctx context.Context, limit int, after *Cursor, typ string) ([]Stored, error)
	// UpdateAsset sets an asset's description and returns it as stored.
	UpdateAsset(ctx context.Context, id, description, by string, at time.Time, ev audit.Event) (Stored, error)
	// DeleteAsset deletes an asset and its values.
	DeleteAsset(ctx context.Context, id string, ev audit.Event) error
	// SetValue locks the asset, takes its next version, has seal seal the
	// value for it, and writes (creates or replaces) the scope's value with
	// the event ev makes, in one transaction. It returns the version.
	SetValue(ctx context.Context, assetID string, v StoredValue, seal func(version int) (envelope.Sealed, error),
		ev func(version int) audit.Event) (int, error)
	// DeleteValue deletes a scope's value (not_found when none) with ev.
	DeleteValue(ctx context.Context, assetID, scope, scopeKey string, ev audit.Event) error
	// Candidates returns the assets named (whatever their case), each with
	// only its values a runner of environment with id runnerID could get:
	// global, environment's and runnerID's.
	Candidates(ctx context.Context, names []string, environment, runnerID string) ([]Stored, error)
	// Availability tells, by lower-case name, for each of names whether the
	// asset exists and has a global value, one for environment, or one for
	// targetRunnerID (for "": one for any runner of environment).
	Availability(ctx context.Context, names []string, environment, targetRunnerID string) (map[string]Availability, error)
	// HeldJob finds job jobID if runnerID holds its current attempt (claimed
	// or running) and that is attempt (0: whichever it is); ok is false
	// when not.
	HeldJob(ctx context.Context, runnerID, jobID string, attempt int) (Held, bool, error)
	// RecordEvents writes events that go with no change, in one transaction.
	RecordEvents(ctx context.Context, evs ...audit.Event) error
}
