package interceptor

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/methodrules"
	"github.com/protojwt/protojwt/internal/rpcadapter"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// Unary returns the unary server interceptor: it enforces the called
// method's rule against the request and calls the handler with the verified
// token in its context ([manager.FromContext]), or returns the denial. A
// public method's handler is called with the context unchanged and no token
// verified.
//
// A server that takes Unary must take Stream too (ServerOptions takes
// both): CheckServer reports the streaming methods of a server that did
// not.
func (i *Interceptor) Unary() grpc.UnaryServerInterceptor {
	i.unaryTaken.Store(true)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		e := i.core.Table.Lookup(info.FullMethod)
		if e.Open {
			i.core.Decider.Open(ctx, info.FullMethod)
			return handler(ctx, req)
		}
		tok, err := i.decide(ctx, info.FullMethod, e, e.Vars(req))
		if err != nil {
			if md, ok := i.nonce(err); ok {
				_ = grpc.SetTrailer(ctx, md)
			}
			return nil, i.core.Denials.Deny(info.FullMethod, err)
		}
		return handler(decide.WithToken(ctx, tok), req)
	}
}

// Stream returns the stream server interceptor: it verifies the token and
// checks the called method's rule when the stream opens, except for what
// reads the request (claims bound to request fields, an expression that
// reads request), which it checks on every message the handler receives.
// On every message it also checks that the token has not expired, and it
// verifies the token again, revocation included, every [WithStreamRecheck].
// The handler's stream context carries the verified token. A public
// method's handler gets the stream unchanged.
func (i *Interceptor) Stream() grpc.StreamServerInterceptor {
	i.streamTaken.Store(true)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx := ss.Context()
		e := i.core.Table.Lookup(info.FullMethod)
		if e.Open {
			i.core.Decider.Open(ctx, info.FullMethod)
			return handler(srv, ss)
		}
		raw, dpopScheme, readErr := i.token(ctx, e)
		p := i.presented(ctx, dpopScheme, info.FullMethod, e)
		tok, err := i.core.Decider.Decide(ctx, info.FullMethod, e.Rule, raw, readErr, &p, rules.Deferred)
		if err != nil {
			if md, ok := i.nonce(err); ok {
				ss.SetTrailer(md)
			}
			return i.core.Denials.Deny(info.FullMethod, err)
		}
		ctx = decide.WithToken(ctx, tok)
		return handler(srv, &guardedStream{
			ServerStream: ss,
			ctx:          ctx,
			guard:        i.core.Stream(info.FullMethod, e, raw, tok),
		})
	}
}

// decide reads the token of the call, and its proof of possession, and
// decides it with e's rule.
func (i *Interceptor) decide(ctx context.Context, method string, e *methodrules.Entry, vars rules.Vars) (*manager.Token, error) {
	raw, dpopScheme, readErr := i.token(ctx, e)
	p := i.presented(ctx, dpopScheme, method, e)
	return i.core.Decider.Decide(ctx, method, e.Rule, raw, readErr, &p, vars)
}

// token reads the token of the call and whether it came with the DPoP
// scheme: "" and no error when none was sent. A method without a rule
// reads nothing, it is denied anyway.
func (i *Interceptor) token(ctx context.Context, e *methodrules.Entry) (string, bool, error) {
	if e.Rule == nil {
		return "", false, nil
	}
	raw, dpopScheme, err := bearer.Credential(metadata.ValueFromIncomingContext(ctx, i.key), bearer.Limit(i.core.Decider.Verifier))
	raw, err = decide.Sent(raw, err)
	return raw, dpopScheme, err
}

// guardedStream is the stream a handler gets: its context carries the
// token, and each message it receives is checked.
type guardedStream struct {
	grpc.ServerStream
	ctx   context.Context
	guard *rpcadapter.Stream[error]
}

// Context returns the stream's context with the verified token.
func (s *guardedStream) Context() context.Context { return s.ctx }

// RecvMsg receives a message and checks it. A message that does not hold is
// cleared and the call returns the denial status error, then and on every
// later call, which ends the stream when the handler returns it.
func (s *guardedStream) RecvMsg(m any) error {
	if denied := s.guard.Denied(); denied != nil {
		return denied
	}
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return s.guard.Check(s.ctx, m)
}
