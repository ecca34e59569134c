package rpctest

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/protojwt/protojwt/internal/hostiletest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// UnaryCase is one call: with the Authorization values Auth, either allowed
// (Code OK, the handler sees Subject) or denied with Code and Reason.
type UnaryCase struct {
	Name string
	// Method is the gRPC full method name, which is connect's procedure
	// name too.
	Method  string
	Request proto.Message
	Auth    []string
	Code    codes.Code
	Reason  string
	Subject string // of the token the handler sees; "" for none
	// Secrets are texts besides Auth that a denial must not quote.
	Secrets []string
	// Message is the denial's message, "" to leave it unchecked.
	Message string
}

// RunUnary runs each case as a subtest of t through c.
func RunUnary(t *testing.T, c Client, cases []UnaryCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.Name, func(t *testing.T) {
			r, err := c.Unary(t, tt.Method, tt.Request, tt.Auth)
			if tt.Code == codes.OK {
				CheckReply(t, r, err, tt.Subject)
				return
			}
			// Values under 16 bytes ("Bearer") can't be told apart from
			// the fixed texts of denials.
			CheckDenial(t, err, tt.Code, tt.Reason, slices.Concat(hostiletest.TokensOf(tt.Auth), tt.Secrets)...)
			if msg := MessageOf(err); tt.Message != "" && msg != tt.Message {
				t.Errorf("message %q, want %q", msg, tt.Message)
			}
		})
	}
}

// RuleCases are the calls of every kind of rule that the test services
// declare, with tokens of m (a NewManager): public, token type, claims
// equal to literals and to request fields (top-level, nested, numeric,
// enum), scope, scopes, any_of, default rules, and undeclared methods.
func RuleCases(tb testing.TB, m *manager.Manager) []UnaryCase {
	tb.Helper()
	auth := func(sub string, scope any, claims map[string]any) []string {
		return []string{Bearer(AuthToken(tb, m, sub, scope, claims))}
	}
	claims := func(kv ...any) map[string]any {
		c := map[string]any{}
		for i := 0; i < len(kv); i += 2 {
			c[kv[i].(string)] = kv[i+1]
		}
		return c
	}
	plain := auth("alice", nil, nil)
	refresh := []string{Bearer(RefreshToken(tb, m, "alice", map[string]any{"role": "admin"}))}
	user := func(id string) *testpb.FieldNestedRequest {
		return &testpb.FieldNestedRequest{User: &testpb.User{Id: id}}
	}
	const (
		unauth = codes.Unauthenticated
		denied = codes.PermissionDenied
	)

	return []UnaryCase{
		// public: no token verified, none passed to the handler
		{Name: "public/no token", Method: testpb.GuardedService_Public_FullMethodName, Request: &testpb.PublicRequest{}},
		{Name: "public/valid token not passed", Method: testpb.GuardedService_Public_FullMethodName, Request: &testpb.PublicRequest{}, Auth: plain},
		{Name: "public/garbage token ignored", Method: testpb.GuardedService_Public_FullMethodName, Request: &testpb.PublicRequest{}, Auth: []string{"Bearer not.a.jwt"}},
		{Name: "public/malformed header ignored", Method: testpb.GuardedService_Public_FullMethodName, Request: &testpb.PublicRequest{}, Auth: []string{"Basic x", "two"}},

		// token type
		{Name: "refresh/refresh token", Method: testpb.GuardedService_Refresh_FullMethodName, Request: &testpb.RefreshRequest{}, Auth: refresh, Subject: "alice"},
		{Name: "refresh/auth token", Method: testpb.GuardedService_Refresh_FullMethodName, Request: &testpb.RefreshRequest{}, Auth: plain, Code: unauth, Reason: "TOKEN_TYPE"},
		{Name: "refresh/no token", Method: testpb.GuardedService_Refresh_FullMethodName, Request: &testpb.RefreshRequest{}, Code: unauth, Reason: "TOKEN_MISSING"},
		{Name: "auth rule/refresh token", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: refresh, Code: unauth, Reason: "TOKEN_TYPE"},
		{Name: "auth rule/refresh token, type before claims", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: &testpb.FieldTopRequest{Username: "bob"}, Auth: refresh, Code: unauth, Reason: "TOKEN_TYPE"},

		// claim = literal string
		{Name: "literal string/equal", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: auth("alice", nil, claims("role", "admin")), Subject: "alice"},
		{Name: "literal string/other", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: auth("alice", nil, claims("role", "user")), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal string/case differs", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: auth("alice", nil, claims("role", "Admin")), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal string/missing", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal string/array", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: auth("alice", nil, claims("role", []any{"admin"})), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal string/in scope only", Method: testpb.GuardedService_LiteralString_FullMethodName, Request: &testpb.LiteralStringRequest{}, Auth: auth("alice", map[string]any{"role": "admin"}, nil), Code: denied, Reason: "CLAIM_MISMATCH"},

		// claim = literal number
		{Name: "literal number/equal", Method: testpb.GuardedService_LiteralNumber_FullMethodName, Request: &testpb.LiteralNumberRequest{}, Auth: auth("alice", nil, claims("level", 3)), Subject: "alice"},
		{Name: "literal number/equal float", Method: testpb.GuardedService_LiteralNumber_FullMethodName, Request: &testpb.LiteralNumberRequest{}, Auth: auth("alice", nil, claims("level", 3.0)), Subject: "alice"},
		{Name: "literal number/other", Method: testpb.GuardedService_LiteralNumber_FullMethodName, Request: &testpb.LiteralNumberRequest{}, Auth: auth("alice", nil, claims("level", 3.5)), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal number/string", Method: testpb.GuardedService_LiteralNumber_FullMethodName, Request: &testpb.LiteralNumberRequest{}, Auth: auth("alice", nil, claims("level", "3")), Code: denied, Reason: "CLAIM_MISMATCH"},

		// claim = literal bool
		{Name: "literal bool/true", Method: testpb.GuardedService_LiteralBool_FullMethodName, Request: &testpb.LiteralBoolRequest{}, Auth: auth("alice", nil, claims("verified", true)), Subject: "alice"},
		{Name: "literal bool/false", Method: testpb.GuardedService_LiteralBool_FullMethodName, Request: &testpb.LiteralBoolRequest{}, Auth: auth("alice", nil, claims("verified", false)), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal bool/string", Method: testpb.GuardedService_LiteralBool_FullMethodName, Request: &testpb.LiteralBoolRequest{}, Auth: auth("alice", nil, claims("verified", "true")), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "literal bool/number", Method: testpb.GuardedService_LiteralBool_FullMethodName, Request: &testpb.LiteralBoolRequest{}, Auth: auth("alice", nil, claims("verified", 1)), Code: denied, Reason: "CLAIM_MISMATCH"},

		// claim = top-level string field
		{Name: "field/equal", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: &testpb.FieldTopRequest{Username: "alice"}, Auth: plain, Subject: "alice"},
		{Name: "field/other", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: &testpb.FieldTopRequest{Username: "bob"}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "field/unset", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: &testpb.FieldTopRequest{}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "field/prefix", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: &testpb.FieldTopRequest{Username: "alic"}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},

		// claim = nested field user.id
		{Name: "nested/equal", Method: testpb.GuardedService_FieldNested_FullMethodName, Request: user("alice"), Auth: plain, Subject: "alice"},
		{Name: "nested/other", Method: testpb.GuardedService_FieldNested_FullMethodName, Request: user("bob"), Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "nested/id unset", Method: testpb.GuardedService_FieldNested_FullMethodName, Request: user(""), Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "nested/user unset", Method: testpb.GuardedService_FieldNested_FullMethodName, Request: &testpb.FieldNestedRequest{}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "nested/other field set", Method: testpb.GuardedService_FieldNested_FullMethodName, Request: &testpb.FieldNestedRequest{User: &testpb.User{DisplayName: "alice"}}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},

		// claim = numeric field
		{Name: "number field/equal", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{AccountId: 42}, Auth: auth("alice", nil, claims("account", 42)), Subject: "alice"},
		{Name: "number field/equal float claim", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{AccountId: 42}, Auth: auth("alice", nil, claims("account", 42.0)), Subject: "alice"},
		{Name: "number field/negative", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{AccountId: -7}, Auth: auth("alice", nil, claims("account", -7)), Subject: "alice"},
		{Name: "number field/other", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{AccountId: 43}, Auth: auth("alice", nil, claims("account", 42)), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "number field/string claim", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{AccountId: 42}, Auth: auth("alice", nil, claims("account", "42")), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "number field/zero is unset", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{}, Auth: auth("alice", nil, claims("account", 0)), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "number field/claim missing", Method: testpb.GuardedService_FieldNumber_FullMethodName, Request: &testpb.FieldNumberRequest{AccountId: 42}, Auth: plain, Code: denied, Reason: "CLAIM_MISMATCH"},

		// claim = enum field, by value name
		{Name: "enum/equal", Method: testpb.GuardedService_FieldEnum_FullMethodName, Request: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_EDITOR}, Auth: auth("alice", nil, claims("role", "ROLE_EDITOR")), Subject: "alice"},
		{Name: "enum/other", Method: testpb.GuardedService_FieldEnum_FullMethodName, Request: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_READER}, Auth: auth("alice", nil, claims("role", "ROLE_EDITOR")), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "enum/number claim", Method: testpb.GuardedService_FieldEnum_FullMethodName, Request: &testpb.FieldEnumRequest{Role: testpb.Role_ROLE_EDITOR}, Auth: auth("alice", nil, claims("role", 2)), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "enum/zero is unset", Method: testpb.GuardedService_FieldEnum_FullMethodName, Request: &testpb.FieldEnumRequest{}, Auth: auth("alice", nil, claims("role", "ROLE_UNSPECIFIED")), Code: denied, Reason: "CLAIM_MISMATCH"},
		{Name: "enum/unknown number", Method: testpb.GuardedService_FieldEnum_FullMethodName, Request: &testpb.FieldEnumRequest{Role: 99}, Auth: auth("alice", nil, claims("role", "99")), Code: denied, Reason: "CLAIM_MISMATCH"},

		// scope containment
		{Name: "scope/contained", Method: testpb.GuardedService_ScopeContains_FullMethodName, Request: &testpb.ScopeContainsRequest{},
			Auth: auth("alice", map[string]any{"admin": true, "projects": []any{"gemini", "apollo"}, "extra": 1}, nil), Subject: "alice"},
		{Name: "scope/element missing", Method: testpb.GuardedService_ScopeContains_FullMethodName, Request: &testpb.ScopeContainsRequest{},
			Auth: auth("alice", map[string]any{"admin": true, "projects": []any{"gemini"}}, nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scope/false", Method: testpb.GuardedService_ScopeContains_FullMethodName, Request: &testpb.ScopeContainsRequest{},
			Auth: auth("alice", map[string]any{"admin": false, "projects": []any{"apollo"}}, nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scope/key missing", Method: testpb.GuardedService_ScopeContains_FullMethodName, Request: &testpb.ScopeContainsRequest{},
			Auth: auth("alice", map[string]any{"projects": []any{"apollo"}}, nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scope/string", Method: testpb.GuardedService_ScopeContains_FullMethodName, Request: &testpb.ScopeContainsRequest{},
			Auth: auth("alice", "admin projects", nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scope/none", Method: testpb.GuardedService_ScopeContains_FullMethodName, Request: &testpb.ScopeContainsRequest{}, Auth: plain, Code: denied, Reason: "SCOPE_MISSING"},

		// OAuth scopes
		{Name: "scopes/space string", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: auth("alice", "write  read", nil), Subject: "alice"},
		{Name: "scopes/array", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: auth("alice", []any{"read", "x", "write"}, nil), Subject: "alice"},
		{Name: "scopes/object", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: auth("alice", map[string]any{"read": true, "write": 1}, nil), Subject: "alice"},
		{Name: "scopes/one missing", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: auth("alice", "read", nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scopes/substring", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: auth("alice", "read writer", nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scopes/object falsy", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: auth("alice", map[string]any{"read": true, "write": false}, nil), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "scopes/none", Method: testpb.GuardedService_Scopes_FullMethodName, Request: &testpb.ScopesRequest{}, Auth: plain, Code: denied, Reason: "SCOPE_MISSING"},

		// any_of
		{Name: "any_of/first", Method: testpb.GuardedService_AnyOf_FullMethodName, Request: &testpb.AnyOfRequest{Owner: "bob"}, Auth: auth("alice", nil, claims("role", "admin")), Subject: "alice"},
		{Name: "any_of/second", Method: testpb.GuardedService_AnyOf_FullMethodName, Request: &testpb.AnyOfRequest{Owner: "alice"}, Auth: plain, Subject: "alice"},
		{Name: "any_of/none", Method: testpb.GuardedService_AnyOf_FullMethodName, Request: &testpb.AnyOfRequest{Owner: "bob"}, Auth: auth("alice", nil, claims("role", "user")), Code: denied, Reason: "NO_ALTERNATIVE"},
		{Name: "any_of/owner unset", Method: testpb.GuardedService_AnyOf_FullMethodName, Request: &testpb.AnyOfRequest{}, Auth: plain, Code: denied, Reason: "NO_ALTERNATIVE"},

		// default rule and method override
		{Name: "default/inherited", Method: testpb.DefaultedService_Inherit_FullMethodName, Request: &testpb.InheritRequest{}, Auth: auth("alice", "read", nil), Subject: "alice"},
		{Name: "default/inherited, scope missing", Method: testpb.DefaultedService_Inherit_FullMethodName, Request: &testpb.InheritRequest{}, Auth: auth("alice", nil, claims("role", "admin")), Code: denied, Reason: "SCOPE_MISSING"},
		{Name: "default/inherited, no token", Method: testpb.DefaultedService_Inherit_FullMethodName, Request: &testpb.InheritRequest{}, Code: unauth, Reason: "TOKEN_MISSING"},
		{Name: "override/own rule", Method: testpb.DefaultedService_Override_FullMethodName, Request: &testpb.OverrideRequest{}, Auth: auth("alice", nil, claims("role", "admin")), Subject: "alice"},
		{Name: "override/default not merged", Method: testpb.DefaultedService_Override_FullMethodName, Request: &testpb.OverrideRequest{}, Auth: auth("alice", "read", nil), Code: denied, Reason: "CLAIM_MISMATCH"},

		// no rule: fail closed, whatever the token
		{Name: "undeclared/valid token", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Auth: plain, Code: denied, Reason: "METHOD_NOT_DECLARED"},
		{Name: "undeclared/no token", Method: testpb.GuardedService_Undeclared_FullMethodName, Request: &testpb.UndeclaredRequest{}, Code: denied, Reason: "METHOD_NOT_DECLARED"},
		{Name: "undeclared service", Method: testpb.OpenService_Ping_FullMethodName, Request: &testpb.PingRequest{}, Auth: plain, Code: denied, Reason: "METHOD_NOT_DECLARED"},
	}
}

// TokenCases are the ways a token can fail authentication, each
// Unauthenticated with its reason, and the scheme's spellings that pass. A
// credential malformed as a request is told what was wrong; a token that
// is malformed as a JWT, however badly, is only an invalid token.
// m is a NewManager that revokes (manager.WithRevocation): one of its
// tokens is revoked for the "revoked" case.
func TokenCases(tb testing.TB, m *manager.Manager) []UnaryCase {
	tb.Helper()
	req := &testpb.FieldTopRequest{Username: "alice"}

	valid := AuthToken(tb, m, "alice", nil, nil)
	revoked, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Revoke(context.Background(), revoked); err != nil {
		tb.Fatalf("Revoke: %v", err)
	}
	expired := AuthToken(tb, NewManager(tb, ClockAt(-2*time.Hour)), "alice", nil, nil)
	future := AuthToken(tb, NewManager(tb, ClockAt(2*time.Hour)), "alice", nil, nil)
	otherKey := AuthToken(tb, NewManagerWith(tb, manager.Config{Issuer: Issuer, Algorithm: "HS256", Secret: []byte("another secret of thirty-two bytes or more")}), "alice", nil, nil)
	otherIssuer := AuthToken(tb, NewManagerWith(tb, manager.Config{Issuer: "someone-else", Algorithm: "HS256", Secret: []byte(Secret)}), "alice", nil, nil)
	otherAlg := AuthToken(tb, NewManagerWith(tb, manager.Config{Issuer: Issuer, Algorithm: "HS384", Secret: []byte(Secret)}), "alice", nil, nil)
	tampered := valid[:len(valid)-2] + "AA"
	if tampered == valid {
		tampered = valid[:len(valid)-2] + "BB"
	}

	const (
		unauth    = codes.Unauthenticated
		msgScheme = `authorization: expected "Bearer <token>"`
		msgEmpty  = msgScheme + ", the token is empty"
		msgChars  = msgScheme + ", one space after the scheme and none in the token"
	)
	return []UnaryCase{
		{Name: "valid", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(valid)}, Subject: "alice"},
		{Name: "scheme lower case", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"bearer " + valid}, Subject: "alice"},
		{Name: "scheme upper case", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"BEARER " + valid}, Subject: "alice"},
		{Name: "no metadata", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Code: unauth, Reason: "TOKEN_MISSING"},
		{Name: "empty value", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{""}, Code: unauth, Reason: "TOKEN_MISSING"},
		{Name: "scheme only", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer"}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: msgEmpty},
		{Name: "scheme and space", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer "}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: msgEmpty},
		{Name: "two spaces", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer  " + valid}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: msgChars},
		{Name: "other scheme", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Basic " + valid}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: msgScheme},
		{Name: "token scheme", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Token " + valid}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: msgScheme},
		{Name: "no scheme", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{valid}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: msgScheme},
		{Name: "two values", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(valid), Bearer(valid)}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: "2 authorization values, expected one"},
		{Name: "a valid token and a bad one", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(valid), Bearer(tampered)}, Code: unauth, Reason: "REQUEST_MALFORMED", Message: "2 authorization values, expected one"},
		{Name: "garbage sent as bearer", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer garbage"}, Code: unauth, Reason: "TOKEN_INVALID", Message: "invalid token"},
		{Name: "bad base64 sent as bearer", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer e~~.e~~.e~~"}, Code: unauth, Reason: "TOKEN_INVALID", Message: "invalid token"},
		{Name: "bad JSON sent as bearer", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer eyJhbGciOiJIUzI1NiIs.eyJzdWIi.c2ln"}, Code: unauth, Reason: "TOKEN_INVALID", Message: "invalid token"},
		{Name: "not a JWT", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{"Bearer abc.def.ghi"}, Code: unauth, Reason: "TOKEN_INVALID"},
		{Name: "tampered signature", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(tampered)}, Code: unauth, Reason: "TOKEN_INVALID"},
		{Name: "other key", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(otherKey)}, Code: unauth, Reason: "TOKEN_INVALID"},
		{Name: "other issuer", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(otherIssuer)}, Code: unauth, Reason: "TOKEN_INVALID"},
		{Name: "other algorithm", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(otherAlg)}, Code: unauth, Reason: "TOKEN_INVALID"},
		{Name: "expired", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(expired)}, Code: unauth, Reason: "TOKEN_EXPIRED"},
		{Name: "not yet valid", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(future)}, Code: unauth, Reason: "TOKEN_INVALID"},
		{Name: "revoked", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(revoked.Signed)}, Code: unauth, Reason: "TOKEN_REVOKED"},
		{Name: "expired, before claims", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: &testpb.FieldTopRequest{Username: "bob"}, Auth: []string{Bearer(expired)}, Code: unauth, Reason: "TOKEN_EXPIRED"},
	}
}

// StoreDownCases are the calls to a server whose manager's revocation
// store is a DownStore, with valid, a token of that manager: a valid token
// that can't be checked is refused Unavailable, so that clients retry
// rather than log in again, and its denial quotes neither the store's
// error nor the token; an invalid one never reaches the store.
func StoreDownCases(valid string) []UnaryCase {
	req := &testpb.FieldTopRequest{Username: "alice"}
	return []UnaryCase{
		{Name: "store down", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(valid)}, Code: codes.Unavailable, Reason: "REVOCATION_UNAVAILABLE",
			Secrets: []string{ErrStoreDown.Error(), valid}},
		{Name: "invalid token never reaches the store", Method: testpb.GuardedService_FieldTop_FullMethodName, Request: req, Auth: []string{Bearer(valid + "x")}, Code: codes.Unauthenticated, Reason: "TOKEN_INVALID"},
	}
}
