// Package chain checks the audit log's hash chain: gap-free sequence numbers,
// each record's prev_hash equal to the hash before it, and each hash equal to
// SHA-256(prev_hash || canonical JSON of the event).
package chain

import (
	"fmt"
	"time"

	"github.com/exekra/hub/libs/contract/audit"
)

// Verifier walks records in seq order.
type Verifier struct {
	checked  int64
	last     int64 // the highest seq seen
	nextSeq  int64
	prevHash string
	bad      int64
	reason   string
	cp       *audit.Checkpoint
}

// NewVerifier starts at the beginning of the log.
func NewVerifier() *Verifier { return &Verifier{nextSeq: 1, prevHash: audit.GenesisHash} }

// Expect makes the walk hold the log against checkpoint cp: a chain valid
// to its end proves nothing about rows deleted from that end, but the
// checkpoint says the log once reached cp.Seq with cp.Hash there.
func (v *Verifier) Expect(cp audit.Checkpoint) { v.cp = &cp }

// Add checks the next record; after the first problem it only counts.
func (v *Verifier) Add(r audit.Record) {
	v.last = max(v.last, r.Seq)
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
	if v.cp != nil && r.Seq == v.cp.Seq && r.Hash != v.cp.Hash {
		v.fail(r.Seq, fmt.Sprintf("seq %d does not match checkpoint %s signed at that seq: the log was rewritten from there",
			r.Seq, v.cp.At.Format(time.RFC3339)))
		return
	}
	v.nextSeq, v.prevHash = r.Seq+1, r.Hash
}

func (v *Verifier) fail(seq int64, reason string) { v.bad, v.reason = seq, reason }

// Result is the outcome so far.
func (v *Verifier) Result() audit.VerifyResponse {
	bad, reason := v.bad, v.reason
	if bad == 0 && v.cp != nil && v.last < v.cp.Seq {
		bad, reason = v.last+1, fmt.Sprintf("log ends at seq %d but checkpoint %s was signed at seq %d: rows were removed from its end",
			v.last, v.cp.At.Format(time.RFC3339), v.cp.Seq)
	}
	r := audit.VerifyResponse{OK: bad == 0, Checked: v.checked, HeadSeq: v.last}
	if v.cp != nil {
		r.CheckpointSeq = v.cp.Seq
	}
	if bad != 0 {
		r.FirstBadSeq, r.Reason = bad, reason
	} else {
		r.HeadHash = v.prevHash
	}
	return r
}
