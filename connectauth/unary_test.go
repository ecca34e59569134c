package connectauth_test

import (
	"testing"

	"github.com/protojwt/protojwt/internal/rpctest"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
)

const (
	methodPublic        = testpbconnect.GuardedServicePublicProcedure
	methodRefresh       = testpbconnect.GuardedServiceRefreshProcedure
	methodLiteralString = testpbconnect.GuardedServiceLiteralStringProcedure
	methodLiteralNumber = testpbconnect.GuardedServiceLiteralNumberProcedure
	methodLiteralBool   = testpbconnect.GuardedServiceLiteralBoolProcedure
	methodFieldTop      = testpbconnect.GuardedServiceFieldTopProcedure
	methodFieldNested   = testpbconnect.GuardedServiceFieldNestedProcedure
	methodFieldNumber   = testpbconnect.GuardedServiceFieldNumberProcedure
	methodFieldEnum     = testpbconnect.GuardedServiceFieldEnumProcedure
	methodScopeContains = testpbconnect.GuardedServiceScopeContainsProcedure
	methodScopes        = testpbconnect.GuardedServiceScopesProcedure
	methodAnyOf         = testpbconnect.GuardedServiceAnyOfProcedure
	methodUndeclared    = testpbconnect.GuardedServiceUndeclaredProcedure
	methodInherit       = testpbconnect.DefaultedServiceInheritProcedure
	methodOverride      = testpbconnect.DefaultedServiceOverrideProcedure
	methodPing          = testpbconnect.OpenServicePingProcedure
)

// unaryCase is one call: see rpctest.UnaryCase.
type unaryCase = rpctest.UnaryCase

// runUnary runs the cases under every protocol.
func runUnary(t *testing.T, ts *testServer, tests []unaryCase) {
	t.Helper()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			rpctest.RunUnary(t, p.client(ts), tests)
		})
	}
}

// TestUnaryRules runs every kind of rule, under every protocol, over a
// real server whose interceptor reads the rules of the generated code in
// GlobalFiles: the acceptance table both RPC adapters decide.
func TestUnaryRules(t *testing.T) {
	m := newManager(t)
	runUnary(t, startServer(t, m), rpctest.RuleCases(t, m))
}

// TestUnaryTokens checks every way a token can fail authentication, under
// every protocol: each is Unauthenticated with its reason, and no message
// quotes the token.
func TestUnaryTokens(t *testing.T) {
	m := newManager(t, manager.WithRevocation(revocationStore(t)))
	runUnary(t, startServer(t, m), rpctest.TokenCases(t, m))
}

// TestUnaryRevocationUnavailable: a valid token that can't be checked
// against the revocation store is refused Unavailable, so that clients
// retry rather than log in again, and the store's error is not shown,
// under every protocol.
func TestUnaryRevocationUnavailable(t *testing.T) {
	m := newManager(t, manager.WithRevocation(rpctest.DownStore{Store: revocationStore(t)}))
	runUnary(t, startServer(t, m), rpctest.StoreDownCases(authToken(t, m, "alice", nil, nil)))
}

// TestUnaryKeysUnavailable: a Manager that has no keys yet (its provider
// down since it started) refuses a good token Unavailable, so that
// clients retry rather than sign in again, under every protocol.
func TestUnaryKeysUnavailable(t *testing.T) {
	m, token := rpctest.KeysDown(t)
	runUnary(t, startServer(t, m), rpctest.KeysDownCases(token))
}
