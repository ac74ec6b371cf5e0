package streamcheck

import (
	"context"
	"errors"
	"fmt"

	"github.com/exekra/hub/libs/contract/audit"
	"github.com/exekra/hub/libs/errs"
	"github.com/nats-io/nats.go/jetstream"
)

// JetStream opens the AUDIT stream on a JetStream connection. It asks only
// $JS.API.CONSUMER.INFO.AUDIT.<consumer>, $JS.API.STREAM.INFO.AUDIT and
// $JS.API.STREAM.MSG.GET.AUDIT (the stream does not allow direct gets).
type JetStream struct {
	JS       jetstream.JetStream
	Consumer string // the audit service's durable consumer
}

// Open reads the consumer's progress, then the stream's bounds: read in
// that order, the stream can only be further on than what was consumed.
func (j JetStream) Open(ctx context.Context) (Stream, error) {
	s := &jsStream{}
	c, err := j.JS.Consumer(ctx, audit.Stream, j.Consumer)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		s.progress.Missing = "stream"
		return s, nil
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		s.progress.Missing = "consumer"
	case err != nil:
		return nil, unavailable(err)
	default:
		s.progress.ConsumedSeq = c.CachedInfo().AckFloor.Stream
	}
	if s.stream, err = j.JS.Stream(ctx, audit.Stream); errors.Is(err, jetstream.ErrStreamNotFound) {
		s.progress.Missing = "stream"
		return s, nil
	} else if err != nil {
		return nil, unavailable(err)
	}
	state := s.stream.CachedInfo().State
	s.progress.FirstSeq, s.progress.LastSeq = state.FirstSeq, state.LastSeq
	return s, nil
}

type jsStream struct {
	progress Progress
	stream   jetstream.Stream
}

func (s *jsStream) Progress() Progress { return s.progress }

func (s *jsStream) Message(ctx context.Context, seq uint64) ([]byte, error) {
	m, err := s.stream.GetMsg(ctx, seq)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return m.Data, nil
}

func unavailable(err error) error {
	return errs.Wrap(errs.Unavailable, fmt.Sprintf("the %s stream could not be read to check the log's end; try again shortly", audit.Stream), err)
}
