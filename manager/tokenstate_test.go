package manager

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/tokenview"
)

// TestHandlerMutationLeavesView checks that a handler modifying the shared
// cached Token (its Claims, nested values, Scope, Subject, Type) changes
// nothing the Manager and the rule engine decide from: the view of the
// next Verify of the same token is as decoded.
func TestHandlerMutationLeavesView(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	scope := map[string]any{"projects": []any{"a"}, "admin": false}
	signed := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"role": "viewer", "scope": scope}))
	tok := mustVerify(t, m, signed)
	var size int
	want := copyJSON(tokenview.Of(tok).Claims.Map(), &size)

	// A handler of the first call.
	tok.Claims["role"] = "admin"
	tok.Claims["injected"] = true
	tok.Scope.(map[string]any)["admin"] = true
	tok.Scope.(map[string]any)["projects"].([]any)[0] = "everything"
	tok.Subject, tok.Type, tok.Issuer = "root", Refresh, "https://evil.test"

	again := mustVerify(t, m, signed)
	if again != tok {
		t.Fatal("test bug: the second Verify did not come from the cache")
	}
	v := tokenview.Of(again)
	if v == nil {
		t.Fatal("tokenview.Of(verified token) = nil")
	}
	if !reflect.DeepEqual(v.Claims.Map(), want) {
		t.Errorf("view claims = %v, want %v", v.Claims.Map(), want)
	}
	if !reflect.DeepEqual(v.Scope, map[string]any{"projects": []any{"a"}, "admin": false}) {
		t.Errorf("view scope = %v", v.Scope)
	}
	if v.Subject != "alice" || v.Type != "auth" || v.Issuer != testIssuer {
		t.Errorf("view = %q %q %q, want alice auth %s", v.Subject, v.Type, v.Issuer, testIssuer)
	}
}

// TestOverwrittenTokenVerifiedAgain checks that a handler replacing the
// whole *Token (which takes its private state with it) does not make the
// cache return it: the token is verified again, into a new Token.
func TestOverwrittenTokenVerifiedAgain(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	signed := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"role": "viewer"}))
	tok := mustVerify(t, m, signed)
	*tok = Token{Type: Auth, Subject: "root", Signed: signed, Claims: map[string]any{"role": "admin"}}

	again := mustVerify(t, m, signed)
	if again == tok {
		t.Fatal("Verify returned the overwritten Token")
	}
	if v := tokenview.Of(again); v == nil || claimOf(v, "role") != "viewer" || v.Subject != "alice" {
		t.Fatalf("view after overwrite = %+v", v)
	}
}

// TestMutationCannotEscapeRevocation checks that revocation reads the
// Manager's record of a token: a handler that changes the Subject, ID or
// fam claim of a shared Token does not make a revoked token verify.
func TestMutationCannotEscapeRevocation(t *testing.T) {
	clock := newMovableClock()
	m, _ := newRevocationManager(t, clock, Config{})
	refresh, err := m.RefreshToken("alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := m.Verify(context.Background(), refresh.Signed)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Revoke(context.Background(), tok); err != nil { // revokes the login's family
		t.Fatal(err)
	}
	tok.Subject, tok.ID, tok.Type = "mallory", "other", Auth
	tok.Claims["fam"] = "another-login"
	tok.IssuedAt = clock.now().Add(time.Hour)
	if _, err := m.Verify(context.Background(), refresh.Signed); !errors.Is(err, ErrRevoked) {
		t.Fatalf("Verify after Revoke and mutation: error = %v, want ErrRevoked", err)
	}
}

// TestTokenviewOf checks that only Tokens a Manager built have a view.
func TestTokenviewOf(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	issued, err := m.AuthToken("alice", "read", map[string]any{"tenant": "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if v := tokenview.Of(issued); v == nil || v.Scope != "read" || claimOf(v, "tenant") != "acme" || v.Issuer != testIssuer {
		t.Errorf("view of an issued token = %+v", v)
	}
	for name, tok := range map[string]any{
		"literal":    &Token{Type: Auth, Subject: "alice", Claims: map[string]any{"admin": true}},
		"nil *Token": (*Token)(nil),
		"nil":        nil,
		"other type": "token",
	} {
		if v := tokenview.Of(tok); v != nil {
			t.Errorf("tokenview.Of(%s) = %+v, want nil", name, v)
		}
	}
}

// TestTokenIssuer checks that Issuer is the iss claim of issued and
// verified tokens.
func TestTokenIssuer(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	issued, err := m.AuthToken("alice", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if issued.Issuer != testIssuer {
		t.Errorf("issued Issuer = %q", issued.Issuer)
	}
	if got := mustVerify(t, m, issued.Signed).Issuer; got != testIssuer {
		t.Errorf("verified Issuer = %q", got)
	}
}

// TestTokenExpired checks Expired against Verify's own exp check with a
// leeway, and for Tokens no Manager built.
func TestTokenExpired(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, Leeway: 30 * time.Second})
	exp := testNow.Add(time.Minute)
	signed := craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{"exp": exp.Unix()}))
	tok := mustVerify(t, m, signed)
	tok.ExpiresAt = exp.Add(time.Hour) // a handler's change counts for nothing
	tests := []struct {
		name string
		tok  *Token
		now  time.Time
		want bool
	}{
		{"before exp", tok, exp.Add(-time.Second), false},
		{"at exp, within leeway", tok, exp, false},
		{"last instant of leeway", tok, exp.Add(30*time.Second - time.Nanosecond), false},
		{"end of leeway", tok, exp.Add(30 * time.Second), true},
		{"long after", tok, exp.Add(time.Hour), true},
		{"literal before exp", &Token{ExpiresAt: exp}, exp.Add(-time.Nanosecond), false},
		{"literal at exp", &Token{ExpiresAt: exp}, exp, true},
		{"literal without exp", &Token{}, exp.Add(time.Hour), false},
		{"nil", nil, exp, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.tok.Expired(tt.now); got != tt.want {
				t.Fatalf("Expired(%v) = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
	// Expired agrees with Verify at the end of the leeway.
	for _, at := range []time.Time{exp.Add(29 * time.Second), exp.Add(30 * time.Second)} {
		late := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret, Leeway: 30 * time.Second}, WithClock(func() time.Time { return at }))
		_, err := late.Verify(context.Background(), signed)
		if expired := errors.Is(err, ErrExpired); expired != tok.Expired(at) {
			t.Errorf("at exp%+v: Verify expired = %v, Expired = %v", at.Sub(exp), expired, tok.Expired(at))
		}
	}
}

// TestTokenClaimsShareNoContainerWithView checks, for tokens verified,
// issued and built by NewToken, that Token.Claims and the view the rules
// read hold equal claims and share no map or slice at any depth (strings
// and numbers, immutable, may be shared), so that no change to one reaches
// the other; and that Token.Scope is Token.Claims' scope, the view's Scope
// the view's.
func TestTokenClaimsShareNoContainerWithView(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	custom := map[string]any{
		"groups": []any{"a", []any{"b", map[string]any{}}},
		"tenant": map[string]any{"id": "acme", "tags": []any{}, "limits": map[string]any{"n": 1.0}},
		"empty":  map[string]any{},
		"none":   []any{},
		"flag":   true,
	}
	scope := []any{"read", "write"}
	verified := mustVerify(t, m, craft(t, "HS256", testSecret, nil, claimsWith(map[string]any{
		"groups": custom["groups"], "tenant": custom["tenant"], "empty": custom["empty"],
		"none": custom["none"], "flag": true, "scope": scope,
	})))
	issued, err := m.AuthToken("alice", scope, custom)
	if err != nil {
		t.Fatal(err)
	}
	built, err := NewToken(map[string]any{"iss": testIssuer, "sub": "alice", "scope": scope, "groups": custom["groups"]}, Auth)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]*Token{"verified": verified, "issued": issued, "NewToken": built} {
		t.Run(name, func(t *testing.T) {
			v := tokenview.Of(tok)
			if v == nil {
				t.Fatal("no view")
			}
			if !reflect.DeepEqual(tok.Claims, v.Claims.Map()) {
				t.Fatalf("Token.Claims %v, view %v", tok.Claims, v.Claims.Map())
			}
			checkNoSharedContainer(t, "claims", reflect.ValueOf(tok.Claims), reflect.ValueOf(v.Claims.Map()))
			if !reflect.DeepEqual(tok.Scope, scope) || !reflect.DeepEqual(v.Scope, scope) {
				t.Fatalf("scopes %v and %v, want %v", tok.Scope, v.Scope, scope)
			}
			if reflect.ValueOf(tok.Scope).UnsafePointer() != reflect.ValueOf(tok.Claims["scope"]).UnsafePointer() ||
				reflect.ValueOf(v.Scope).UnsafePointer() != reflect.ValueOf(claimOf(v, "scope")).UnsafePointer() {
				t.Error("a Scope is not its own claims' scope")
			}
		})
	}
}

// checkNoSharedContainer fails when a and b, equal decoded JSON, are or
// hold the same map or the same slice memory.
func checkNoSharedContainer(t *testing.T, path string, a, b reflect.Value) {
	t.Helper()
	if a.Kind() == reflect.Interface {
		a, b = a.Elem(), b.Elem()
	}
	switch a.Kind() {
	case reflect.Map:
		if a.UnsafePointer() == b.UnsafePointer() {
			t.Fatalf("%s: one map in both", path)
		}
		for _, k := range a.MapKeys() {
			checkNoSharedContainer(t, path+"."+k.String(), a.MapIndex(k), b.MapIndex(k))
		}
	case reflect.Slice:
		if a.Cap() > 0 && a.UnsafePointer() == b.UnsafePointer() {
			t.Fatalf("%s: one array in both", path)
		}
		for i := range a.Len() {
			checkNoSharedContainer(t, fmt.Sprintf("%s[%d]", path, i), a.Index(i), b.Index(i))
		}
	}
}

// claimOf returns the claim name of v, nil when absent.
func claimOf(v *tokenview.View, name string) any {
	c, _ := v.Claims.Lookup(name)
	return c
}
