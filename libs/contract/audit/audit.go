// Package audit is the contract of the audit log (v1): the event every
// service writes to its outbox, the JetStream stream that carries it, and
// the audit service's NATS operations.
package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"time"
)

// Stream is the JetStream stream that carries events from the outboxes to the log.
const Stream = "AUDIT"

// SubjectEvents prefixes the subjects of the stream: exekra.audit.events.<service>.
const SubjectEvents = "exekra.audit.events"

// Subjects of the audit service's operations.
const (
	SubjectConfirm     = "exekra.audit.v1.events.confirm"
	SubjectQuery       = "exekra.audit.v1.query"
	SubjectVerify      = "exekra.audit.v1.verify"
	SubjectCheckpoints = "exekra.audit.v1.checkpoints"
)

// Outcomes of an action.
const (
	Success = "success"
	Failure = "failure"
)

// Actor types.
const (
	ActorUser   = "user"
	ActorRunner = "runner"
	ActorSystem = "system"
)

// Event is one audited action. Details never hold a password, token or secret.
type Event struct {
	ID        string         `json:"id"`
	At        time.Time      `json:"at"`
	Actor     Actor          `json:"actor"`
	Action    string         `json:"action"`
	Target    Target         `json:"target"`
	Outcome   string         `json:"outcome"`
	Reason    string         `json:"reason,omitempty"`
	SourceIP  string         `json:"source_ip"`
	RequestID string         `json:"request_id"`
	Service   string         `json:"service"`
	Version   string         `json:"version"`
	Details   map[string]any `json:"details"`
}

// Actor is who acted.
type Actor struct {
	Type  string `json:"type"` // user | runner | system
	ID    string `json:"id"`
	Email string `json:"email,omitempty"`
	Name  string `json:"name,omitempty"`
	Role  string `json:"role,omitempty"`
	// TokenID names the API token a user acted with; absent for a session.
	TokenID string `json:"token_id,omitempty"`
}

// Target is what was acted upon.
type Target struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Record is an event as the log holds it.
type Record struct {
	Seq int64 `json:"seq"`
	Event
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// ConfirmRequest asks which of these event ids the log holds.
type ConfirmRequest struct {
	IDs []string `json:"ids"`
}

// ConfirmResponse lists the ids the log holds.
type ConfirmResponse struct {
	Present []string `json:"present"`
}

// QueryRequest filters the log. Order is newest first unless Ascending.
type QueryRequest struct {
	Actor     string    `json:"actor,omitempty"` // actor id or email
	Action    string    `json:"action,omitempty"`
	Target    string    `json:"target,omitempty"` // target id
	Since     time.Time `json:"since,omitzero"`
	Until     time.Time `json:"until,omitzero"`
	AfterSeq  int64     `json:"after_seq,omitempty"`  // ascending paging
	BeforeSeq int64     `json:"before_seq,omitempty"` // descending paging
	Ascending bool      `json:"ascending,omitempty"`
	Limit     int       `json:"limit"`
}

// QueryResponse is one page of records.
type QueryResponse struct {
	Items []Record `json:"items"`
	More  bool     `json:"more"`
}

// VerifyRequest walks the chain (optionally from a checkpoint).
type VerifyRequest struct{}

// VerifyResponse is the outcome of a walk. Besides the chain itself, the
// log's end is held against what lies outside the table: the newest stored
// checkpoint and the AUDIT stream (Stream), since deleting the newest rows
// leaves a valid chain.
type VerifyResponse struct {
	OK          bool   `json:"ok"`
	Checked     int64  `json:"checked"`
	HeadHash    string `json:"head_hash,omitempty"`
	FirstBadSeq int64  `json:"first_bad_seq,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// HeadSeq is the log's last seq.
	HeadSeq int64 `json:"head_seq"`
	// CheckpointSeq is the newest stored checkpoint's seq (0: none yet): the
	// log must reach it and hold the checkpoint's hash there.
	CheckpointSeq int64        `json:"checkpoint_seq,omitempty"`
	Stream        *StreamCheck `json:"stream,omitempty"`
}

// StreamCheck is the log compared with the AUDIT stream: every event the
// audit service took from the stream must be in the log.
type StreamCheck struct {
	// Checked is false when there was nothing to compare with (see Note).
	Checked bool `json:"checked"`
	// FirstSeq and LastSeq bound the messages the stream still holds
	// (older ones age out).
	FirstSeq uint64 `json:"first_seq"`
	LastSeq  uint64 `json:"last_seq"`
	// ConsumedSeq is how far the audit service has taken the stream into the
	// log: every message up to it (its consumer's acknowledged floor).
	ConsumedSeq uint64 `json:"consumed_seq"`
	// LoggedSeq is the highest stream seq a log row records.
	LoggedSeq uint64 `json:"logged_seq"`
	// Note says what could not be compared, and why.
	Note string `json:"note,omitempty"`
}

// Checkpoint is a signed statement that the log held seq with hash.
type Checkpoint struct {
	Seq       int64     `json:"seq"`
	Hash      string    `json:"hash"`
	At        time.Time `json:"at"`
	PublicKey string    `json:"public_key"` // base64 Ed25519
	Signature string    `json:"signature"`  // base64 Ed25519 over CheckpointPayload
}

// CheckpointPayload is the byte string a checkpoint signs.
func CheckpointPayload(seq int64, hash string, at time.Time) []byte {
	b, _ := json.Marshal(struct {
		Domain string `json:"domain"`
		Seq    int64  `json:"seq"`
		Hash   string `json:"hash"`
		At     string `json:"at"`
	}{"exekra-audit-checkpoint-v1", seq, hash, at.UTC().Format(time.RFC3339Nano)})
	return b
}

// CheckpointsRequest lists checkpoints, newest first.
type CheckpointsRequest struct {
	Limit int `json:"limit"`
}

// CheckpointsResponse lists checkpoints.
type CheckpointsResponse struct {
	Items []Checkpoint `json:"items"`
}

// Valid reports whether c is signed by the public key it names. Whether that
// key is the installation's is for the reader to compare.
func (c Checkpoint) Valid() bool {
	pub, err1 := base64.StdEncoding.DecodeString(c.PublicKey)
	sig, err2 := base64.StdEncoding.DecodeString(c.Signature)
	if err1 != nil || err2 != nil || len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, CheckpointPayload(c.Seq, c.Hash, c.At), sig)
}
