package interceptor_test

import (
	"context"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestHandlerMutationChangesNoDecision is the attack of a handler (or a
// library it calls) that writes to the Token in its context: the Manager
// hands the same cached Token to every call that presents the token, and
// later decisions must not depend on what a handler did with it.
func TestHandlerMutationChangesNoDecision(t *testing.T) {
	m := newManager(t)
	auth, err := interceptor.New(m)
	if err != nil {
		t.Fatal(err)
	}
	mutate := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if tok, ok := manager.FromContext(ctx); ok {
			tok.Claims["role"] = "admin"
			tok.Claims["sub"] = "mallory"
			tok.Type = manager.Refresh
			tok.Subject = "mallory"
		}
		return handler(ctx, req)
	}
	ts := serve(t, grpc.ChainUnaryInterceptor(auth.Unary(), mutate))
	signed := bearer(authToken(t, m, "alice", nil, map[string]any{"role": "user"}))

	// Allowed: the handler gets the token and writes to it.
	if _, err := call(withToken(t, signed), ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}); err != nil {
		t.Fatalf("first call: %v", err)
	}
	// The same token, again: role is still "user", sub "alice", type auth.
	_, err = call(withToken(t, signed), ts, methodLiteralString, &testpb.LiteralStringRequest{})
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
	if _, err := call(withToken(t, signed), ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}); err != nil {
		t.Errorf("the owner's call after the mutation: %v", err)
	}
	_, err = call(withToken(t, signed), ts, methodFieldTop, &testpb.FieldTopRequest{Username: "mallory"})
	checkDenial(t, err, codes.PermissionDenied, protojwt.ReasonClaimMismatch)
}
