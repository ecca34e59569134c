package decide_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/bearer"
	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/manager"
)

// dryFixture is a verifier of two tokens and the rules of the dry-run tests.
func dryFixture(t *testing.T) (manager.Verifier, map[string]*manager.Token, *rules.Rule, *rules.Rule) {
	t.Helper()
	spec := rules.Spec{Claims: map[string]rules.Match{"role": {Value: "admin"}}}
	enforced, err := rules.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	spec.DryRun = true
	dry, err := rules.Compile(spec)
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	tokens := map[string]*manager.Token{
		"viewer":  {Type: manager.Auth, Subject: "alice", ID: "j1", ExpiresAt: exp, Claims: map[string]any{"role": "viewer", "sub": "alice"}},
		"admin":   {Type: manager.Auth, Subject: "root", ID: "j2", ExpiresAt: exp, Claims: map[string]any{"role": "admin"}},
		"refresh": {Type: manager.Refresh, Subject: "bob", ID: "j3", ExpiresAt: exp, Claims: map[string]any{"role": "admin"}},
	}
	v := verifierFunc(func(_ context.Context, raw string) (*manager.Token, error) {
		if tok, ok := tokens[raw]; ok {
			return tok, nil
		}
		return nil, manager.ErrSignature
	})
	return v, tokens, enforced, dry
}

// TestDecideDryRun: under a dry-run rule or Decider.DryRun a call that
// would be denied goes on, reported with its reason and DryRun; the
// adapter gets the token only when it verified.
func TestDecideDryRun(t *testing.T) {
	v, tokens, enforced, dryRule := dryFixture(t)
	for _, mode := range []struct {
		name       string
		rule       *rules.Rule
		deciderDry bool
	}{
		{"rule dry_run", dryRule, false},
		{"WithDryRun", enforced, true},
	} {
		for _, tt := range []struct {
			raw        string
			readErr    error
			wantReason string
			wantToken  *manager.Token
		}{
			{raw: "viewer", wantReason: protojwt.ReasonClaimMismatch, wantToken: tokens["viewer"]},
			{raw: "refresh", wantReason: protojwt.ReasonTokenType, wantToken: tokens["refresh"]},
			{raw: "admin", wantToken: tokens["admin"]},
			{raw: "forged", wantReason: protojwt.ReasonTokenInvalid},
			{raw: "", wantReason: protojwt.ReasonTokenMissing},
			{raw: "", readErr: &bearer.RequestError{Message: "two values"}, wantReason: protojwt.ReasonRequestMalformed},
		} {
			t.Run(mode.name+"/"+tt.raw+"/"+tt.wantReason, func(t *testing.T) {
				var got []protojwt.Decision
				d := decide.Decider{Verifier: v, DryRun: mode.deciderDry, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
				tok, err := d.Decide(context.Background(), "/pkg.Svc/M", mode.rule, tt.raw, tt.readErr, nil, rules.Vars{})
				if err != nil || tok != tt.wantToken {
					t.Errorf("Decide = %v, %v; want %v and no error", tok, err, tt.wantToken)
				}
				if len(got) != 1 {
					t.Fatalf("%d decisions reported, want 1", len(got))
				}
				dec := got[0]
				if !dec.Allowed || !dec.DryRun || dec.Reason != tt.wantReason || (dec.Err != nil) != (tt.wantReason != "") || dec.Token != tt.wantToken {
					t.Errorf("decision = %+v; want allowed, dry run, reason %q, token %v", dec, tt.wantReason, tt.wantToken)
				}
			})
		}
	}
	// The same rule enforced: denied, not dry.
	var got []protojwt.Decision
	d := decide.Decider{Verifier: v, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
	if tok, err := d.Decide(context.Background(), "/pkg.Svc/M", enforced, "viewer", nil, nil, rules.Vars{}); tok != nil || !errors.Is(err, manager.ErrClaim) {
		t.Errorf("enforced Decide = %v, %v; want nil, ErrClaim", tok, err)
	}
	if len(got) != 1 || got[0].Allowed || got[0].DryRun {
		t.Errorf("enforced decision = %+v; want denied, not dry", got)
	}
}

// TestDecideDryRunUndeclared: WithDryRun reports a procedure without a rule
// and lets it on; without it the call is denied.
func TestDecideDryRunUndeclared(t *testing.T) {
	v, _, _, _ := dryFixture(t)
	var got []protojwt.Decision
	hook := func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }
	d := decide.Decider{Verifier: v, DryRun: true, Hook: hook}
	if tok, err := d.Decide(context.Background(), "/pkg.Svc/None", nil, "", nil, nil, rules.Vars{}); tok != nil || err != nil {
		t.Errorf("dry Decide = %v, %v; want nil, nil", tok, err)
	}
	if len(got) != 1 || !got[0].Allowed || !got[0].DryRun || got[0].Reason != protojwt.ReasonMethodNotDeclared {
		t.Errorf("dry decision = %+v; want allowed, dry, METHOD_NOT_DECLARED", got)
	}
	d.DryRun = false
	if _, err := d.Decide(context.Background(), "/pkg.Svc/None", nil, "", nil, nil, rules.Vars{}); !errors.Is(err, rules.ErrNotDeclared) {
		t.Errorf("enforced Decide = %v; want ErrNotDeclared", err)
	}
	got = nil
	d.DryRun = true
	d.Open(context.Background(), "/pkg.Svc/Public")
	if len(got) != 1 || !got[0].Allowed || !got[0].DryRun || got[0].Reason != "" {
		t.Errorf("dry Open = %+v; want allowed, dry, no reason", got)
	}
}

// TestStreamDryRun: each stream message a dry-run rule would refuse is
// reported and let through.
func TestStreamDryRun(t *testing.T) {
	v, tokens, _, _ := dryFixture(t)
	rule, err := rules.Compile(rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "user"}}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []protojwt.Decision
	d := &decide.Decider{Verifier: v, Recheck: time.Hour, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
	s := d.Stream("/pkg.Svc/Chat", rule, "viewer", tokens["viewer"])
	for _, user := range []string{"alice", "mallory", "alice", "eve"} {
		vars := rules.VarFunc(func(int) (rules.Value, bool) { return rules.String(user), true })
		if err := s.Message(context.Background(), vars); err != nil {
			t.Errorf("message of %s: %v; want it through", user, err)
		}
	}
	var reasons []string
	for _, dec := range got {
		if !dec.Allowed || !dec.DryRun || !dec.Message {
			t.Errorf("message decision = %+v; want allowed, dry, message", dec)
		}
		reasons = append(reasons, dec.Reason)
	}
	want := []string{"", protojwt.ReasonClaimMismatch, "", protojwt.ReasonClaimMismatch}
	if len(reasons) != len(want) {
		t.Fatalf("reasons %q, want %q", reasons, want)
	}
	for i := range want {
		if reasons[i] != want[i] {
			t.Errorf("reasons %q, want %q", reasons, want)
			break
		}
	}
}

// TestAuthenticateDryRun: before the request is read, a dry-run decider
// refuses nothing and reports nothing; DecideVerified then reports the one
// decision, dry.
func TestAuthenticateDryRun(t *testing.T) {
	v, tokens, enforced, dryRule := dryFixture(t)
	for _, tt := range []struct {
		name       string
		rule       *rules.Rule
		deciderDry bool
		raw        string
		wantToken  *manager.Token
	}{
		{"rule forged", dryRule, false, "forged", nil},
		{"rule missing", dryRule, false, "", nil},
		{"rule viewer", dryRule, false, "viewer", tokens["viewer"]},
		{"WithDryRun refresh", enforced, true, "refresh", tokens["refresh"]},
		{"WithDryRun undeclared", nil, true, "viewer", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []protojwt.Decision
			d := decide.Decider{Verifier: v, DryRun: tt.deciderDry, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
			tok, err := d.Authenticate(context.Background(), "/pkg.Svc/M", tt.rule, tt.raw, nil, nil)
			if err != nil || tok != tt.wantToken || len(got) != 0 {
				t.Fatalf("Authenticate = %v, %v, %d decisions; want %v, no error, none reported", tok, err, len(got), tt.wantToken)
			}
			if tok == nil {
				return
			}
			if err := d.DecideVerified(context.Background(), "/pkg.Svc/M", tt.rule, tok, rules.Vars{}); err != nil {
				t.Errorf("DecideVerified = %v; want nil under dry run", err)
			}
			if len(got) != 1 || !got[0].Allowed || !got[0].DryRun || got[0].Reason == "" {
				t.Errorf("decisions %+v; want one, allowed, dry, with the reason", got)
			}
		})
	}
	d := decide.Decider{Verifier: v}
	if _, err := d.Authenticate(context.Background(), "/pkg.Svc/M", enforced, "forged", nil, nil); !errors.Is(err, manager.ErrSignature) {
		t.Errorf("enforced Authenticate = %v; want ErrSignature", err)
	}
}

// TestStreamDryRunRecheck: under dry run a stream whose token stops
// verifying goes on, each message reported with the failure, and the
// token is verified again only every Recheck, not on every message.
func TestStreamDryRunRecheck(t *testing.T) {
	tok := &manager.Token{Type: manager.Auth, Subject: "alice", ExpiresAt: time.Now().Add(time.Hour)}
	var calls int
	v := verifierFunc(func(context.Context, string) (*manager.Token, error) {
		calls++
		return nil, manager.ErrRevoked
	})
	rule, err := rules.Compile(rules.Spec{Scopes: []string{"read"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var got []protojwt.Decision
	d := &decide.Decider{Verifier: v, DryRun: true, Recheck: time.Minute, Now: func() time.Time { return now },
		Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
	s := d.Stream("/pkg.Svc/Chat", rule, "raw", tok)
	now = now.Add(2 * time.Minute) // due for a check
	for range 3 {
		if err := s.Message(context.Background(), rules.Vars{}); err != nil {
			t.Fatalf("Message under dry run: %v", err)
		}
	}
	if calls != 1 {
		t.Errorf("verified %d times in one Recheck, want 1", calls)
	}
	if len(got) != 3 {
		t.Fatalf("%d decisions, want one per message", len(got))
	}
	for _, dec := range got {
		if !dec.Allowed || !dec.DryRun || dec.Reason != protojwt.ReasonTokenRevoked {
			t.Errorf("decision %+v; want allowed, dry, TOKEN_REVOKED", dec)
		}
	}
	now = now.Add(2 * time.Minute)
	_ = s.Message(context.Background(), rules.Vars{})
	if calls != 2 {
		t.Errorf("verified %d times after the next Recheck, want 2", calls)
	}
	// Enforced, the first failure ends the stream.
	d.DryRun = false
	s = d.Stream("/pkg.Svc/Chat", rule, "raw", tok)
	now = now.Add(2 * time.Minute)
	if err := s.Message(context.Background(), rules.Vars{}); !errors.Is(err, manager.ErrRevoked) {
		t.Errorf("enforced Message = %v, want ErrRevoked", err)
	}
}
