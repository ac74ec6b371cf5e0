// Package chain checks the audit log's hash chain: gap-free sequence numbers,
// each record's prev_hash equal to the hash before it, and each hash equal to
// SHA-256(prev_hash || canonical JSON of the event).
package chain

import (
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
)

// Verifier walks records in seq order.
type Verifier struct {
	checked  int64
	nextSeq  int64
	prevHash string
	bad      int64
	reason   string
}

// NewVerifier starts at the beginning of the log.
func NewVerifier() *Verifier { return &Verifier{nextSeq: 1, prevHash: audit.GenesisHash} }

// Add checks the next record; after the first problem it only counts.
func (v *Verifier) Add(r audit.Record) {
	if v.bad != 0 {
		return
	}
	v.checked++
	switch {
	case r.Seq != v.nextSeq:
		v.fail(v.nextSeq, fmt.Sprintf("seq %d is missing (found %d)", v.nextSeq, r.Seq))
		return
	case r.PrevHash != v.prevHash:
		v.fail(r.Seq, fmt.Sprintf("seq %d does not link to the record before it", r.Seq))
		return
	}
	want, err := audit.ChainHash(r.PrevHash, r.Event)
	if err != nil || want != r.Hash {
		v.fail(r.Seq, fmt.Sprintf("seq %d does not match its hash (altered)", r.Seq))
		return
	}
	v.nextSeq, v.prevHash = r.Seq+1, r.Hash
}

func (v *Verifier) fail(seq int64, reason string) { v.bad, v.reason = seq, reason }

// Result is the outcome so far.
func (v *Verifier) Result() audit.VerifyResponse {
	if v.bad != 0 {
		return audit.VerifyResponse{OK: false, Checked: v.checked, FirstBadSeq: v.bad, Reason: v.reason}
	}
	return audit.VerifyResponse{OK: true, Checked: v.checked, HeadHash: v.prevHash}
}
