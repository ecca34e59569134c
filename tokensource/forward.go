package tokensource

import (
	"context"
	"errors"

	"github.com/protojwt/protojwt/manager"
)

// ErrNoIncomingToken means a [Source] that passes on the caller's identity
// ([Forward], [Exchange]) was asked for a token in a context that holds no
// verified auth token: a call made outside a handler, in a handler of a
// public method, or of a call that came without a token (allow_missing).
// The call fails instead of going out with another identity or none.
var ErrNoIncomingToken = errors.New("tokensource: the incoming call carries no verified auth token to pass on")

// Forward returns a [Source] that hands out the verified auth token of the
// incoming call, as [manager.FromContext] finds it in the context of the
// outgoing call, for grpc-go, connect and net/http clients made inside a
// handler that protojwt guards:
//
//	resp, err := inventory.Reserve(ctx, req,
//		grpc.PerRPCCredentials(tokensource.PerRPCCredentials(tokensource.Forward())))
//
// Each outgoing call must be made with the handler's context (or one
// derived from it): the Source reads the token from there, never from a
// variable. A context without a verified auth token, or with a refresh
// token, gets an error wrapping [ErrNoIncomingToken], never another
// identity.
//
// Forwarding works only where the downstream service accepts the same
// token: its audience (aud), issuer and scopes. A token minted for the
// edge service and accepted by every service behind it is a token that
// any of them can replay to all the others. Where services have
// audiences of their own, which is the safer design, use [Exchange]: the
// identity provider issues a token for the downstream audience that says
// who acts for whom (act).
func Forward() Source { return forwardSource{} }

type forwardSource struct{}

func (forwardSource) Token(ctx context.Context) (string, error) {
	return incomingToken(ctx)
}

// incomingToken returns the verified auth token of the call whose
// handler's context ctx is or derives from.
func incomingToken(ctx context.Context) (string, error) {
	tok, ok := manager.FromContext(ctx)
	if !ok || tok == nil || tok.Signed == "" || tok.Type != manager.Auth {
		return "", ErrNoIncomingToken
	}
	return tok.Signed, nil
}
