package rpcadapter

import (
	"context"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/methodrules"
)

// Stream guards the messages a stream handler receives, for both adapters:
// each one is checked, and once one is refused every later receive (and,
// in connect, send) returns its denial. The adapter's stream wrapper
// receives, then calls Check; it calls Denied before receiving.
type Stream[D any] struct {
	entry     *methodrules.Entry
	checks    *decide.Stream
	procedure string
	denials   *Denials[D]
	// denied is set once, by Check; a connect Send, which may run on
	// another goroutine than Receive, reads it.
	denied atomic.Pointer[error]
}

// Denied returns the denial of the message that was refused, nil while
// none was: the same error each time.
func (s *Stream[D]) Denied() error {
	if d := s.denied.Load(); d != nil {
		return *d
	}
	return nil
}

// Check checks m, a message the handler has just received, in ctx, which
// carries the verified token. A message that does not hold is cleared, so
// that a handler that ignores the error sees nothing of it, and Check
// returns the denial, as Denied does from then on; nil when m holds.
func (s *Stream[D]) Check(ctx context.Context, m any) error {
	err := s.checks.Message(ctx, s.entry.Vars(m))
	if err == nil {
		return nil
	}
	if pm, ok := m.(proto.Message); ok {
		proto.Reset(pm)
	}
	denied := s.denials.Err(s.procedure, err)
	s.denied.Store(&denied)
	return denied
}
