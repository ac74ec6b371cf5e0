package pkgstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// chunkReader reads an object's chunks one by one with direct gets, which
// any current replica of the bucket answers. The object store's own reader
// creates a consumer for each read, and nats-server 2.9 may place that
// consumer on a replica that is down, leaving the read unanswered for as
// long as the node is away: with one node of three down, about half of all
// package downloads failed.
type chunkReader struct {
	ctx     context.Context
	stream  jetstream.Stream
	subject string // the object's chunks
	sha     string // what the bytes must hash to
	left    int    // chunks still to read
	next    uint64 // read from this sequence on
	buf     []byte
	sum     hash.Hash
	err     error
}

func (s *Store) chunks(ctx context.Context, sha string, info *jetstream.ObjectInfo) *chunkReader {
	return &chunkReader{ctx: ctx, stream: s.stream, subject: "$O." + Bucket + ".C." + info.NUID, sha: sha,
		left: int(info.Chunks), next: 1, sum: sha256.New()}
}

// notYetRetries bound the waits for a chunk a replica has not received yet
// (a read right after the publish, answered by a follower still catching up).
const (
	notYetRetries = 20
	notYetWait    = 50 * time.Millisecond
)

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.left == 0 {
			if got := hex.EncodeToString(r.sum.Sum(nil)); got != r.sha {
				r.err = fmt.Errorf("package object %s: the bytes read hash to %s", r.sha, got)
			} else {
				r.err = io.EOF
			}
			continue
		}
		msg, err := r.fetch()
		if err != nil {
			r.err = fmt.Errorf("read package object %s: %w", r.sha, err)
			continue
		}
		r.next, r.left, r.buf = msg.Sequence+1, r.left-1, msg.Data
		r.sum.Write(msg.Data)
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// fetch gets the next chunk: the first message on the object's chunk
// subject at or after r.next.
func (r *chunkReader) fetch() (*jetstream.RawStreamMsg, error) {
	for try := 0; ; try++ {
		msg, err := r.stream.GetMsg(r.ctx, r.next, jetstream.WithGetMsgSubject(r.subject))
		if !errors.Is(err, jetstream.ErrMsgNotFound) || try == notYetRetries {
			return msg, err
		}
		select {
		case <-r.ctx.Done():
			return nil, r.ctx.Err()
		case <-time.After(notYetWait):
		}
	}
}

func (r *chunkReader) Close() error { return nil }
