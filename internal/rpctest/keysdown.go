package rpctest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// KeysDown returns a Manager whose identity provider has been down since
// it started (manager.WithStartUnavailable, every fetch answered 503), and
// a token its provider would have signed: a real Manager refusing a good
// token with manager.ErrKeysUnavailable.
func KeysDown(t testing.TB) (*manager.Manager, string) {
	t.Helper()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "provider down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(down.Close)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	provider, err := manager.New(manager.Config{Issuer: "https://idp.example", Algorithm: "ES256", PrivateKey: key, KeyID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := provider.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manager.Open(context.Background(), manager.Config{Issuer: "https://idp.example", Algorithm: "ES256", JWKSURL: down.URL},
		manager.WithStartUnavailable(), manager.WithJWKSRefreshInterval(time.Hour), manager.WithJWKSErrorHandler(func(error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, tok.Signed
}

// KeysDownCases are the calls to a server whose Manager is KeysDown's,
// with its token: Unavailable (retry), never Unauthenticated (sign in
// again), and a call without a token still TOKEN_MISSING.
func KeysDownCases(token string) []UnaryCase {
	req := &testpb.FieldTopRequest{Username: "alice"}
	return []UnaryCase{
		{Name: "keys unavailable", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(token)}, Code: codes.Unavailable, Reason: "KEYS_UNAVAILABLE",
			Secrets: []string{"provider down"}},
		{Name: "no token", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Code: codes.Unauthenticated, Reason: "TOKEN_MISSING"},
		{Name: "malformed token", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer("not-a-jwt")}, Code: codes.Unauthenticated, Reason: "TOKEN_INVALID"},
	}
}
