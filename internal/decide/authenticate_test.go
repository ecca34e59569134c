package decide_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// TestAuthenticate checks what is decided before the request is read: a
// refusal is returned and reported, as the call's one decision; an allowed
// call, or a refusal the request could change, is neither.
func TestAuthenticate(t *testing.T) {
	compile := func(s rules.Spec) *rules.Rule {
		r, err := rules.Compile(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	admin := compile(rules.Spec{Claims: map[string]rules.Match{"role": {Value: "admin"}}})
	owner := compile(rules.Spec{Claims: map[string]rules.Match{"role": {Value: "admin"}, "sub": {Var: "user"}}})
	optional := compile(rules.Spec{AllowMissing: true, Claims: map[string]rules.Match{"role": {Value: "admin"}}})
	refresh := compile(rules.Spec{TokenType: manager.Refresh})
	tokens := map[string]*manager.Token{
		"viewer": {Type: manager.Auth, Subject: "alice", Claims: map[string]any{"role": "viewer", "sub": "alice"}},
		"admin":  {Type: manager.Auth, Subject: "root", Claims: map[string]any{"role": "admin", "sub": "root"}},
	}
	v := verifierFunc(func(_ context.Context, raw string) (*manager.Token, error) {
		if tok, ok := tokens[raw]; ok {
			return tok, nil
		}
		return nil, manager.ErrSignature
	})
	tests := []struct {
		name      string
		rule      *rules.Rule
		raw       string
		readErr   error
		wantErr   error // nil: not refused now
		wantToken *manager.Token
	}{
		{name: "allowed", rule: admin, raw: "admin", wantToken: tokens["admin"]},
		{name: "no token", rule: admin, wantErr: manager.ErrNoToken},
		{name: "malformed header", rule: admin, readErr: manager.ErrMalformed, wantErr: manager.ErrMalformed},
		{name: "forged", rule: admin, raw: "forged", wantErr: manager.ErrSignature},
		{name: "wrong type", rule: refresh, raw: "admin", wantErr: manager.ErrTokenType},
		{name: "claim, rule reads no request", rule: admin, raw: "viewer", wantErr: manager.ErrClaim},
		{name: "claim, rule reads the request", rule: owner, raw: "viewer", wantToken: tokens["viewer"]},
		{name: "request part deferred", rule: owner, raw: "admin", wantToken: tokens["admin"]},
		{name: "forged, rule reads the request", rule: owner, raw: "forged", wantErr: manager.ErrSignature},
		{name: "allow_missing, none sent", rule: optional},
		{name: "allow_missing, forged", rule: optional, raw: "forged", wantErr: manager.ErrSignature},
		{name: "undeclared", rule: nil, raw: "admin", wantErr: rules.ErrNotDeclared},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []protojwt.Decision
			d := decide.Decider{Verifier: v, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
			tok, err := d.Authenticate(context.Background(), "/pkg.Svc/M", tt.rule, tt.raw, tt.readErr, nil)
			if tt.wantErr == nil {
				if err != nil || tok != tt.wantToken {
					t.Errorf("Authenticate = %v, %v; want %v, nil", tok, err, tt.wantToken)
				}
				if len(got) != 0 {
					t.Errorf("reported %+v; an allowed call is decided later", got)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || tok != nil {
				t.Errorf("Authenticate = %v, %v; want nil, %v", tok, err, tt.wantErr)
			}
			if len(got) != 1 || got[0].Allowed || got[0].Err != err {
				t.Errorf("reported %+v, want the refusal once", got)
			}
		})
	}
}

// TestDecideVerified checks the decision of a call whose token was
// verified before its request was read: the token is not verified again,
// its expiry is checked, the rule is checked with the request, and the
// decision is reported once.
func TestDecideVerified(t *testing.T) {
	owner, err := rules.Compile(rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "user"}}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	tok := &manager.Token{Type: manager.Auth, Subject: "alice", ExpiresAt: now.Add(time.Minute), Claims: map[string]any{"sub": "alice"}}
	user := func(s string) rules.Vars {
		return rules.VarFunc(func(int) (rules.Value, bool) { return rules.String(s), true })
	}
	tests := []struct {
		name    string
		rule    *rules.Rule
		at      time.Time
		vars    rules.Vars
		wantErr error
	}{
		{name: "allowed", rule: owner, at: now, vars: user("alice")},
		{name: "request field mismatch", rule: owner, at: now, vars: user("bob"), wantErr: manager.ErrClaim},
		{name: "expired since", rule: owner, at: now.Add(time.Hour), vars: user("alice"), wantErr: manager.ErrExpired},
		{name: "undeclared", rule: nil, at: now, vars: user("alice"), wantErr: rules.ErrNotDeclared},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []protojwt.Decision
			verified := 0
			d := decide.Decider{
				Verifier: verifierFunc(func(context.Context, string) (*manager.Token, error) { verified++; return tok, nil }),
				Hook:     func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) },
				Now:      func() time.Time { return tt.at },
			}
			err := d.DecideVerified(context.Background(), "/pkg.Svc/M", tt.rule, tok, tt.vars)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("DecideVerified = %v, want %v", err, tt.wantErr)
			}
			if verified != 0 {
				t.Errorf("verified %d times, want none", verified)
			}
			if len(got) != 1 || got[0].Allowed != (tt.wantErr == nil) || got[0].Token != tok {
				t.Errorf("reported %+v, want the decision once, with the token", got)
			}
		})
	}
}
