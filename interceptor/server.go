package interceptor

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// Unary returns the unary server interceptor: it enforces the called
// method's rule against the request and calls the handler with the verified
// token in its context (manager.FromContext), or returns the denial. A
// public method's handler is called with the context unchanged and no token
// verified.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		e := i.lookup(info.FullMethod)
		if e.open {
			return handler(ctx, req)
		}
		tok, err := i.authorize(ctx, e, e.vars(req))
		if err != nil {
			return nil, denialError(err)
		}
		return handler(manager.NewContext(ctx, tok), req)
	}
}

// Stream returns the stream server interceptor: it verifies the token and
// checks the called method's rule when the stream opens, except for claims
// bound to request fields, which it checks on every message the handler
// receives. The handler's stream context carries the verified token. A
// public method's handler gets the stream unchanged.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		e := i.lookup(info.FullMethod)
		if e.open {
			return handler(srv, ss)
		}
		ctx := ss.Context()
		tok, err := i.authorize(ctx, e, rules.Deferred)
		if err != nil {
			return denialError(err)
		}
		return handler(srv, &guardedStream{ServerStream: ss, ctx: manager.NewContext(ctx, tok), entry: e, tok: tok})
	}
}

// authorize verifies the bearer token of the call and checks e's rule
// against it and the request variables; rules.Deferred defers the claims
// bound to request fields, as when a stream opens.
func (i *Interceptor) authorize(ctx context.Context, e *entry, vars rules.Vars) (*manager.Token, error) {
	if e.rule == nil {
		return nil, rules.ErrNotDeclared
	}
	raw, err := bearer.Token(metadata.ValueFromIncomingContext(ctx, i.key))
	if err != nil {
		return nil, err
	}
	return e.rule.Authorize(ctx, i.m, raw, vars)
}

// vars returns the variables of the request req for e's rule, nil when the
// rule binds none: a request that is not a message has every variable
// absent.
func (e *entry) vars(req any) rules.Vars {
	if e.fields == nil {
		return nil
	}
	return e.fields.of(req)
}

// guardedStream is the stream a handler gets: its context carries the
// token, and each message it receives is checked against the claims bound
// to request fields.
type guardedStream struct {
	grpc.ServerStream
	ctx    context.Context
	entry  *entry
	tok    *manager.Token
	denied error // once a message is refused, every later RecvMsg is too
}

// Context returns the stream's context with the verified token.
func (s *guardedStream) Context() context.Context { return s.ctx }

// RecvMsg receives a message and checks it. A message that does not match
// the rule is cleared and the call returns the PermissionDenied status
// error, which ends the stream when the handler returns it.
func (s *guardedStream) RecvMsg(m any) error {
	if s.denied != nil {
		return s.denied
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	if s.entry.fields == nil {
		return nil
	}
	if err := s.entry.rule.Check(s.tok, s.entry.vars(m)); err != nil {
		if pm, ok := m.(proto.Message); ok {
			proto.Reset(pm)
		}
		s.denied = denialError(err)
		return s.denied
	}
	return nil
}
