package connectauth

import (
	"context"
	"net/http"

	"connectrpc.com/connect"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/internal/rules"
)

// WrapUnary enforces the called procedure's rule against the request of a
// unary handler, and calls it with the verified token in its context
// ([manager.FromContext]), or returns the denial. A public procedure's
// handler is called with the context unchanged and no token verified. On a
// client, it does nothing.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		spec := req.Spec()
		if spec.IsClient {
			return next(ctx, req)
		}
		e := i.core.Table.Lookup(spec.Procedure)
		if e.Open {
			i.core.Decider.Open(ctx, spec.Procedure)
			return next(ctx, req)
		}
		raw, dpopScheme, readErr := i.token(req.Header(), e)
		tok, err := i.decide(ctx, spec.Procedure, e, raw, dpopScheme, readErr, e.Vars(req.Any()))
		if err != nil {
			return nil, i.denialError(spec.Procedure, err)
		}
		return next(decide.WithToken(ctx, tok), req)
	}
}

// WrapStreamingClient returns next: the interceptor guards handlers, and a
// client that shares its options is left alone.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler guards client-streaming, server-streaming and bidi
// handlers: it verifies the token and checks the procedure's rule when the
// stream opens, except for what reads the request (claims bound to request
// fields, an expression that reads request), which it checks on every
// message the handler receives. On every received message it also checks
// that the token has not expired, and it verifies the token again,
// revocation included, every [WithStreamRecheck]. The handler's context
// carries the verified token. Once a message is refused, Receive and Send
// return the denial, and the stream ends with it whatever the handler
// returns. A public procedure's handler gets the stream unchanged.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		procedure := conn.Spec().Procedure
		e := i.core.Table.Lookup(procedure)
		if e.Open {
			i.core.Decider.Open(ctx, procedure)
			return next(ctx, conn)
		}
		raw, dpopScheme, readErr := i.token(conn.RequestHeader(), e)
		tok, err := i.decide(ctx, procedure, e, raw, dpopScheme, readErr, rules.Deferred)
		if err != nil {
			return i.denialError(procedure, err)
		}
		ctx = decide.WithToken(ctx, tok)
		g := &guardedConn{
			StreamingHandlerConn: conn,
			ctx:                  ctx,
			guard:                i.core.Stream(procedure, e, raw, tok),
		}
		err = next(ctx, g)
		if denied := g.guard.Denied(); denied != nil {
			return denied
		}
		return err
	}
}

// token reads the token of the call and whether it came with the DPoP
// scheme: "" and no error when none was sent. A procedure without a rule
// reads nothing, it is denied anyway.
func (i *Interceptor) token(h http.Header, e *methodrules.Entry) (string, bool, error) {
	if e.Rule == nil {
		return "", false, nil
	}
	raw, dpopScheme, err := bearer.Credential(h[i.header], bearer.Limit(i.core.Decider.Verifier))
	raw, err = decide.Sent(raw, err)
	return raw, dpopScheme, err
}

// guardedConn is the stream a handler gets: each message it receives is
// checked, and once one is refused the stream only returns the denial.
type guardedConn struct {
	connect.StreamingHandlerConn
	ctx   context.Context
	guard *rpcadapter.Stream[*answer]
}

// Receive receives a message and checks it. A message that does not hold
// is cleared and Receive returns the denial, as it does on every later
// call without reading on.
func (c *guardedConn) Receive(m any) error {
	if denied := c.guard.Denied(); denied != nil {
		return denied
	}
	if err := c.StreamingHandlerConn.Receive(m); err != nil {
		return err
	}
	return c.guard.Check(c.ctx, m)
}

// Send sends a message, unless a received message was refused: then it
// returns the denial and sends nothing.
func (c *guardedConn) Send(m any) error {
	if denied := c.guard.Denied(); denied != nil {
		return denied
	}
	return c.StreamingHandlerConn.Send(m)
}
