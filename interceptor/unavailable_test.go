package interceptor_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt/interceptor"
	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// outageVerifier stands for a Manager during an outage of its identity
// provider: it refuses every token with err.
type outageVerifier struct{ err error }

func (v outageVerifier) Verify(context.Context, string) (*manager.Token, error) {
	return nil, v.err
}

// TestUnaryKeysUnavailable: a token that can't be checked because its
// keys are missing or too old is refused Unavailable over a real gRPC
// connection, never Unauthenticated (which tells a client to log in
// again), and the cause is not shown.
func TestUnaryKeysUnavailable(t *testing.T) {
	const cause = "keys of a fetch 20m0s old"
	auth, err := interceptor.New(outageVerifier{fmt.Errorf("manager: verify: %s: %w", cause, manager.ErrKeysUnavailable)})
	if err != nil {
		t.Fatal(err)
	}
	ts := serve(t, auth.ServerOptions()...)
	req := &testpb.FieldTopRequest{Username: "alice"}
	runUnary(t, ts, []unaryCase{
		{Name: "keys unavailable", Method: methodFieldTop, Request: req, Auth: []string{rpctest.Bearer("header.payload.sig")},
			Code: codes.Unavailable, Reason: "KEYS_UNAVAILABLE", Secrets: []string{cause}},
		{Name: "no token never reaches the keys", Method: methodFieldTop, Request: req, Code: codes.Unauthenticated, Reason: "TOKEN_MISSING"},
	})
}

// TestUnaryKeysUnavailableManager: the same with a real Manager whose
// provider has been down since it started (WithStartUnavailable).
func TestUnaryKeysUnavailableManager(t *testing.T) {
	m, token := rpctest.KeysDown(t)
	runUnary(t, startServer(t, m), rpctest.KeysDownCases(token))
}
