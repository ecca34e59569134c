package connectauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/internal/testpb/testpbconnect"
	"github.com/protojwt/protojwt/manager"
	"github.com/protojwt/protojwt/revocation"
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

// unaryCase is one call: with the authorization values auth, either allowed
// (wantCode 0, the handler sees subject) or denied with wantCode and
// wantReason.
type unaryCase struct {
	name       string
	method     string
	req        proto.Message
	auth       []string
	wantCode   connect.Code
	wantReason string
	subject    string // of the token the handler sees; "" for none
}

// runUnary runs the cases under every protocol.
func runUnary(t *testing.T, ts *testServer, tests []unaryCase) {
	t.Helper()
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					r, err := p.unary(t, ts, tt.method, tt.req, tt.auth)
					if tt.wantCode == 0 {
						checkReply(t, r, err, tt.subject)
						return
					}
					checkDenial(t, err, tt.wantCode, tt.wantReason, tt.auth...)
				})
			}
		})
	}
}

// TestUnaryRules runs every kind of rule, under every protocol, over a
// real server whose interceptor reads the rules of the generated code in
// GlobalFiles: the acceptance cases of the gRPC interceptor.
func TestUnaryRules(t *testing.T) {
	m := newManager(t)
	ts := startServer(t, m)

	auth := func(sub string, scope any, claims map[string]any) []string {
		return []string{bearer(authToken(t, m, sub, scope, claims))}
	}
	claims := func(kv ...any) map[string]any {
		c := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	plain := auth("alice", nil, nil)
	refresh := []string{bearer(refreshToken(t, m, "alice", map[string]any{"role": "admin"}))}
	user := func(id string) *testpb.FieldNestedRequest {
		return &testpb.FieldNestedRequest{User: &testpb.User{Id: id}}
	}
	const (
		unauth = connect.CodeUnauthenticated
		denied = connect.CodePermissionDenied
	)

	runUnary(t, ts, []unaryCase{
		// public: no token verified, none passed to the handler
		{name: "public/no token", method: methodPublic, req: &testpb.PublicRequest{}},
		{name: "public/valid token not passed", method: methodPublic, req: &testpb.PublicRequest{}, auth: plain},
		{name: "public/garbage token ignored", method: methodPublic, req: &testpb.PublicRequest{}, auth: []string{"Bearer not.a.jwt"}},
		{name: "public/malformed header ignored", method: methodPublic, req: &testpb.PublicRequest{}, auth: []string{"Basic x", "two"}},

		// token type
		{name: "refresh/refresh token", method: methodRefresh, req: &testpb.RefreshRequest{}, auth: refresh, subject: "alice"},
		{name: "refresh/auth token", method: methodRefresh, req: &testpb.RefreshRequest{}, auth: plain, wantCode: unauth, wantReason: "TOKEN_TYPE"},
		{name: "refresh/no token", method: methodRefresh, req: &testpb.RefreshRequest{}, wantCode: unauth, wantReason: "TOKEN_MISSING"},
		{name: "auth rule/refresh token", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: refresh, wantCode: unauth, wantReason: "TOKEN_TYPE"},
		{name: "auth rule/refresh token, type before claims", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "bob"}, auth: refresh, wantCode: unauth, wantReason: "TOKEN_TYPE"},

		// claim = literal string
		{name: "literal string/equal", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: auth("alice", nil, claims("role", "admin")), subject: "alice"},
		{name: "literal string/other", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: auth("alice", nil, claims("role", "user")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal string/case differs", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: auth("alice", nil, claims("role", "Admin")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal string/missing", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal string/array", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: auth("alice", nil, claims("role", []any{"admin"})), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal string/in scope only", method: methodLiteralString, req: &testpb.LiteralStringRequest{}, auth: auth("alice", map[string]any{"role": "admin"}, nil), wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// claim = literal number
		{name: "literal number/equal", method: methodLiteralNumber, req: &testpb.LiteralNumberRequest{}, auth: auth("alice", nil, claims("level", 3)), subject: "alice"},
		{name: "literal number/equal float", method: methodLiteralNumber, req: &testpb.LiteralNumberRequest{}, auth: auth("alice", nil, claims("level", 3.0)), subject: "alice"},
		{name: "literal number/other", method: methodLiteralNumber, req: &testpb.LiteralNumberRequest{}, auth: auth("alice", nil, claims("level", 3.5)), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal number/string", method: methodLiteralNumber, req: &testpb.LiteralNumberRequest{}, auth: auth("alice", nil, claims("level", "3")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// claim = literal bool
		{name: "literal bool/true", method: methodLiteralBool, req: &testpb.LiteralBoolRequest{}, auth: auth("alice", nil, claims("verified", true)), subject: "alice"},
		{name: "literal bool/false", method: methodLiteralBool, req: &testpb.LiteralBoolRequest{}, auth: auth("alice", nil, claims("verified", false)), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal bool/string", method: methodLiteralBool, req: &testpb.LiteralBoolRequest{}, auth: auth("alice", nil, claims("verified", "true")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "literal bool/number", method: methodLiteralBool, req: &testpb.LiteralBoolRequest{}, auth: auth("alice", nil, claims("verified", 1)), wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// claim = top-level string field
		{name: "field/equal", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "alice"}, auth: plain, subject: "alice"},
		{name: "field/other", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "bob"}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "field/unset", method: methodFieldTop, req: &testpb.FieldTopRequest{}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "field/prefix", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "alic"}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// claim = nested field user.id
		{name: "nested/equal", method: methodFieldNested, req: user("alice"), auth: plain, subject: "alice"},
		{name: "nested/other", method: methodFieldNested, req: user("bob"), auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "nested/id unset", method: methodFieldNested, req: user(""), auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "nested/user unset", method: methodFieldNested, req: &testpb.FieldNestedRequest{}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "nested/other field set", method: methodFieldNested, req: &testpb.FieldNestedRequest{User: &testpb.User{DisplayName: "alice"}}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// claim = numeric field
		{name: "number field/equal", method: methodFieldNumber, req: &testpb.FieldNumberRequest{AccountId: 42}, auth: auth("alice", nil, claims("account", 42)), subject: "alice"},
		{name: "number field/equal float claim", method: methodFieldNumber, req: &testpb.FieldNumberRequest{AccountId: 42}, auth: auth("alice", nil, claims("account", 42.0)), subject: "alice"},
		{name: "number field/negative", method: methodFieldNumber, req: &testpb.FieldNumberRequest{AccountId: -7}, auth: auth("alice", nil, claims("account", -7)), subject: "alice"},
		{name: "number field/other", method: methodFieldNumber, req: &testpb.FieldNumberRequest{AccountId: 43}, auth: auth("alice", nil, claims("account", 42)), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "number field/string claim", method: methodFieldNumber, req: &testpb.FieldNumberRequest{AccountId: 42}, auth: auth("alice", nil, claims("account", "42")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "number field/zero is unset", method: methodFieldNumber, req: &testpb.FieldNumberRequest{}, auth: auth("alice", nil, claims("account", 0)), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "number field/claim missing", method: methodFieldNumber, req: &testpb.FieldNumberRequest{AccountId: 42}, auth: plain, wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// claim = enum field, by value name
		{name: "enum/equal", method: methodFieldEnum, req: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_EDITOR}, auth: auth("alice", nil, claims("role", "ROLE_EDITOR")), subject: "alice"},
		{name: "enum/other", method: methodFieldEnum, req: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_READER}, auth: auth("alice", nil, claims("role", "ROLE_EDITOR")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "enum/number claim", method: methodFieldEnum, req: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_EDITOR}, auth: auth("alice", nil, claims("role", 2)), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "enum/zero is unset", method: methodFieldEnum, req: &testpb.FieldEnumRequest{}, auth: auth("alice", nil, claims("role", "ROLE_UNSPECIFIED")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},
		{name: "enum/unknown number", method: methodFieldEnum, req: &testpb.FieldEnumRequest{Role: 99}, auth: auth("alice", nil, claims("role", "99")), wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// scope containment
		{name: "scope/contained", method: methodScopeContains, req: &testpb.ScopeContainsRequest{},
			auth: auth("alice", map[string]any{"admin": true, "projects": []any{"gemini", "apollo"}, "extra": 1}, nil), subject: "alice"},
		{name: "scope/element missing", method: methodScopeContains, req: &testpb.ScopeContainsRequest{},
			auth: auth("alice", map[string]any{"admin": true, "projects": []any{"gemini"}}, nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scope/false", method: methodScopeContains, req: &testpb.ScopeContainsRequest{},
			auth: auth("alice", map[string]any{"admin": false, "projects": []any{"apollo"}}, nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scope/key missing", method: methodScopeContains, req: &testpb.ScopeContainsRequest{},
			auth: auth("alice", map[string]any{"projects": []any{"apollo"}}, nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scope/string", method: methodScopeContains, req: &testpb.ScopeContainsRequest{},
			auth: auth("alice", "admin projects", nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scope/none", method: methodScopeContains, req: &testpb.ScopeContainsRequest{}, auth: plain, wantCode: denied, wantReason: "SCOPE_MISSING"},

		// OAuth scopes
		{name: "scopes/space string", method: methodScopes, req: &testpb.ScopesRequest{}, auth: auth("alice", "write  read", nil), subject: "alice"},
		{name: "scopes/array", method: methodScopes, req: &testpb.ScopesRequest{}, auth: auth("alice", []any{"read", "x", "write"}, nil), subject: "alice"},
		{name: "scopes/object", method: methodScopes, req: &testpb.ScopesRequest{}, auth: auth("alice", map[string]any{"read": true, "write": 1}, nil), subject: "alice"},
		{name: "scopes/one missing", method: methodScopes, req: &testpb.ScopesRequest{}, auth: auth("alice", "read", nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scopes/substring", method: methodScopes, req: &testpb.ScopesRequest{}, auth: auth("alice", "read writer", nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scopes/object falsy", method: methodScopes, req: &testpb.ScopesRequest{}, auth: auth("alice", map[string]any{"read": true, "write": false}, nil), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "scopes/none", method: methodScopes, req: &testpb.ScopesRequest{}, auth: plain, wantCode: denied, wantReason: "SCOPE_MISSING"},

		// any_of
		{name: "any_of/first", method: methodAnyOf, req: &testpb.AnyOfRequest{Owner: "bob"}, auth: auth("alice", nil, claims("role", "admin")), subject: "alice"},
		{name: "any_of/second", method: methodAnyOf, req: &testpb.AnyOfRequest{Owner: "alice"}, auth: plain, subject: "alice"},
		{name: "any_of/none", method: methodAnyOf, req: &testpb.AnyOfRequest{Owner: "bob"}, auth: auth("alice", nil, claims("role", "user")), wantCode: denied, wantReason: "NO_ALTERNATIVE"},
		{name: "any_of/owner unset", method: methodAnyOf, req: &testpb.AnyOfRequest{}, auth: plain, wantCode: denied, wantReason: "NO_ALTERNATIVE"},

		// default rule and method override
		{name: "default/inherited", method: methodInherit, req: &testpb.InheritRequest{}, auth: auth("alice", "read", nil), subject: "alice"},
		{name: "default/inherited, scope missing", method: methodInherit, req: &testpb.InheritRequest{}, auth: auth("alice", nil, claims("role", "admin")), wantCode: denied, wantReason: "SCOPE_MISSING"},
		{name: "default/inherited, no token", method: methodInherit, req: &testpb.InheritRequest{}, wantCode: unauth, wantReason: "TOKEN_MISSING"},
		{name: "override/own rule", method: methodOverride, req: &testpb.OverrideRequest{}, auth: auth("alice", nil, claims("role", "admin")), subject: "alice"},
		{name: "override/default not merged", method: methodOverride, req: &testpb.OverrideRequest{}, auth: auth("alice", "read", nil), wantCode: denied, wantReason: "CLAIM_MISMATCH"},

		// no rule: fail closed, whatever the token
		{name: "undeclared/valid token", method: methodUndeclared, req: &testpb.UndeclaredRequest{}, auth: plain, wantCode: connect.CodePermissionDenied, wantReason: "METHOD_NOT_DECLARED"},
		{name: "undeclared/no token", method: methodUndeclared, req: &testpb.UndeclaredRequest{}, wantCode: connect.CodePermissionDenied, wantReason: "METHOD_NOT_DECLARED"},
		{name: "undeclared service", method: methodPing, req: &testpb.PingRequest{}, auth: plain, wantCode: connect.CodePermissionDenied, wantReason: "METHOD_NOT_DECLARED"},
	})
}

// TestUnaryTokens checks every way a token can fail authentication, under
// every protocol: each is Unauthenticated with its reason, and no message
// quotes the token.
func TestUnaryTokens(t *testing.T) {
	store := revocationStore(t)
	m := newManager(t, manager.WithRevocation(store))
	ts := startServer(t, m)
	req := &testpb.FieldTopRequest{Username: "alice"}

	valid := authToken(t, m, "alice", nil, nil)
	revoked, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), revoked); err != nil {
		t.Fatalf("Revoke: %v", err)
	}
	expired := authToken(t, newManager(t, clockAt(-2*time.Hour)), "alice", nil, nil)
	future := authToken(t, newManager(t, clockAt(2*time.Hour)), "alice", nil, nil)
	otherKey := authToken(t, newManagerWith(t, manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: []byte("another secret of thirty-two bytes or more")}), "alice", nil, nil)
	otherIssuer := authToken(t, newManagerWith(t, manager.Config{Issuer: "someone-else", Algorithm: "HS256", Secret: []byte(testSecret)}), "alice", nil, nil)
	otherAlg := authToken(t, newManagerWith(t, manager.Config{Issuer: testIssuer, Algorithm: "HS384", Secret: []byte(testSecret)}), "alice", nil, nil)
	tampered := valid[:len(valid)-2] + "AA"
	if tampered == valid {
		tampered = valid[:len(valid)-2] + "BB"
	}

	const unauth = connect.CodeUnauthenticated
	runUnary(t, ts, []unaryCase{
		{name: "valid", method: methodFieldTop, req: req, auth: []string{bearer(valid)}, subject: "alice"},
		{name: "scheme lower case", method: methodFieldTop, req: req, auth: []string{"bearer " + valid}, subject: "alice"},
		{name: "scheme upper case", method: methodFieldTop, req: req, auth: []string{"BEARER " + valid}, subject: "alice"},
		{name: "no metadata", method: methodFieldTop, req: req, wantCode: unauth, wantReason: "TOKEN_MISSING"},
		{name: "empty value", method: methodFieldTop, req: req, auth: []string{""}, wantCode: unauth, wantReason: "TOKEN_MISSING"},
		{name: "scheme only", method: methodFieldTop, req: req, auth: []string{"Bearer"}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "scheme and space", method: methodFieldTop, req: req, auth: []string{"Bearer "}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "two spaces", method: methodFieldTop, req: req, auth: []string{"Bearer  " + valid}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "other scheme", method: methodFieldTop, req: req, auth: []string{"Basic " + valid}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "no scheme", method: methodFieldTop, req: req, auth: []string{valid}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "two values", method: methodFieldTop, req: req, auth: []string{bearer(valid), bearer(valid)}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "not a JWT", method: methodFieldTop, req: req, auth: []string{"Bearer abc.def.ghi"}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "tampered signature", method: methodFieldTop, req: req, auth: []string{bearer(tampered)}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "other key", method: methodFieldTop, req: req, auth: []string{bearer(otherKey)}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "other issuer", method: methodFieldTop, req: req, auth: []string{bearer(otherIssuer)}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "other algorithm", method: methodFieldTop, req: req, auth: []string{bearer(otherAlg)}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "expired", method: methodFieldTop, req: req, auth: []string{bearer(expired)}, wantCode: unauth, wantReason: "TOKEN_EXPIRED"},
		{name: "not yet valid", method: methodFieldTop, req: req, auth: []string{bearer(future)}, wantCode: unauth, wantReason: "TOKEN_INVALID"},
		{name: "revoked", method: methodFieldTop, req: req, auth: []string{bearer(revoked.Signed)}, wantCode: unauth, wantReason: "TOKEN_REVOKED"},
		{name: "expired, before claims", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "bob"}, auth: []string{bearer(expired)}, wantCode: unauth, wantReason: "TOKEN_EXPIRED"},
	})
}

// downStore is a revocation store that can't answer.
type downStore struct{ revocation.Store }

var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

func (downStore) Revoked(context.Context, string, []string, time.Time) (bool, error) {
	return false, errStoreDown
}

// TestUnaryRevocationUnavailable: a valid token that can't be checked
// against the revocation store is refused Unavailable, so that clients
// retry rather than log in again, and the store's error is not shown.
func TestUnaryRevocationUnavailable(t *testing.T) {
	m := newManager(t, manager.WithRevocation(downStore{revocationStore(t)}))
	ts := startServer(t, m)
	valid := authToken(t, m, "alice", nil, nil)
	runUnary(t, ts, []unaryCase{
		{name: "store down", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "alice"}, auth: []string{bearer(valid)}, wantCode: connect.CodeUnavailable, wantReason: "REVOCATION_UNAVAILABLE"},
		{name: "invalid token never reaches the store", method: methodFieldTop, req: &testpb.FieldTopRequest{Username: "alice"}, auth: []string{bearer(valid + "x")}, wantCode: connect.CodeUnauthenticated, wantReason: "TOKEN_INVALID"},
	})
	for _, p := range protocols {
		_, err := p.unary(t, ts, methodFieldTop, &testpb.FieldTopRequest{Username: "alice"}, []string{bearer(valid)})
		checkDenial(t, err, connect.CodeUnavailable, "REVOCATION_UNAVAILABLE", errStoreDown.Error(), valid)
	}
}
