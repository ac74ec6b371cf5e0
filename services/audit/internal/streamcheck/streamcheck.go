// Package streamcheck holds the log's end against the AUDIT stream. Deleting
// the newest rows leaves a valid hash chain, but the stream and the audit
// service's durable consumer live outside the database: every message up to
// the consumer's acknowledged floor was taken into the log (appended, or
// skipped as an event the log already held, or dropped as unreadable), so
// each readable event among them must be in the log.
package streamcheck

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/google/uuid"
)

// MaxScan bounds the messages one check reads past the log's recorded
// stream head. Normally there are none or a few (events published again
// after the de-duplication window, unreadable ones); a deleted end shows in
// the first ones read.
const MaxScan = 1000

// Progress is where the stream and its consumer stand.
type Progress struct {
	FirstSeq, LastSeq uint64
	ConsumedSeq       uint64 // the consumer's acknowledged floor
	Missing           string // "" or what does not exist yet: "stream" or "consumer"
}

// Stream is the AUDIT stream as one check reads it.
type Stream interface {
	// Progress was read when the stream was opened, before the log is read:
	// whatever it counts as consumed was committed to the log before.
	Progress() Progress
	// Message returns the payload of the message at seq, nil when the
	// stream no longer holds it.
	Message(ctx context.Context, seq uint64) ([]byte, error)
}

// Head is the log's end as the stream saw it.
type Head struct {
	LogSeq    int64  // the log's last seq (0: empty)
	StreamSeq uint64 // the highest stream seq a row records (0: none)
}

// Log is what the check reads of the log.
type Log interface {
	StreamHead(ctx context.Context) (Head, error)
	Present(ctx context.Context, ids []string) ([]string, error)
}

// Result is the comparison; a non-empty Reason means the log lacks events
// it took from the stream, which belonged from BadSeq on.
type Result struct {
	audit.StreamCheck
	BadSeq int64
	Reason string
}

// Check compares the log with s.
func Check(ctx context.Context, s Stream, log Log) (Result, error) {
	p := s.Progress()
	r := Result{StreamCheck: audit.StreamCheck{FirstSeq: p.FirstSeq, LastSeq: p.LastSeq, ConsumedSeq: p.ConsumedSeq}}
	if p.Missing != "" {
		r.Note = fmt.Sprintf("no %s on the %s stream yet: nothing consumed to compare with", p.Missing, audit.Stream)
		return r, nil
	}
	h, err := log.StreamHead(ctx)
	if err != nil {
		return r, err
	}
	r.LoggedSeq = h.StreamSeq
	switch {
	case h.StreamSeq == 0 && h.LogSeq > 0:
		r.Note = "no row records its stream seq yet (rows appended before this version): not compared"
		return r, nil
	case h.StreamSeq > p.LastSeq:
		r.Note = fmt.Sprintf("the stream ends at seq %d, before stream seq %d the log records: the stream was recreated; not compared",
			p.LastSeq, h.StreamSeq)
		return r, nil
	}
	r.Checked = true
	return r, lacking(ctx, s, log, h, &r)
}

// lacking reads the consumed messages from the log's recorded stream head on
// and reports the first readable event the log does not hold. The head's
// own message is read too: the column is outside the hash, and raising a
// remaining row's stream seq must not hide a deleted end (after a recreated
// stream the message there may carry another event the log holds, which is
// no alarm).
func lacking(ctx context.Context, s Stream, log Log, h Head, r *Result) error {
	from, to := max(h.StreamSeq, r.FirstSeq, 1), r.ConsumedSeq
	if h.StreamSeq+1 < r.FirstSeq && h.StreamSeq < to {
		r.Note = fmt.Sprintf("stream seqs %d to %d are past the stream's retention: not compared", h.StreamSeq+1, min(r.FirstSeq-1, to))
	}
	if from > to {
		return nil
	}
	if to-from >= MaxScan {
		r.Note = fmt.Sprintf("stream seqs %d to %d not compared (more than %d past the log's)", from+MaxScan, to, MaxScan)
		to = from + MaxScan - 1
	}
	var seqs []uint64
	var ids []string
	for seq := from; seq <= to; seq++ {
		data, err := s.Message(ctx, seq)
		if err != nil {
			return err
		}
		if id := eventID(data); id != "" {
			seqs, ids = append(seqs, seq), append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	present, err := log.Present(ctx, ids)
	if err != nil {
		return err
	}
	held := make(map[string]bool, len(present))
	for _, id := range present {
		held[id] = true
	}
	for i, id := range ids {
		if !held[id] {
			r.BadSeq = h.LogSeq + 1
			r.Reason = fmt.Sprintf("stream holds events up to stream seq %d that the log lacks (first: stream seq %d, event %s); "+
				"the log records stream seqs up to %d: rows were removed from its end", r.ConsumedSeq, seqs[i], id, h.StreamSeq)
			return nil
		}
	}
	return nil
}

// eventID is the id of the event in a message as the log stores it, "" when
// the message is gone or unreadable (the audit service drops those).
func eventID(data []byte) string {
	var ev struct {
		ID string `json:"id"`
	}
	if data == nil || json.Unmarshal(data, &ev) != nil {
		return ""
	}
	id, err := uuid.Parse(ev.ID)
	if err != nil {
		return ""
	}
	return id.String()
}
