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

// TestDecideReportsRefusedToken checks that the hook learns who was refused:
// a token that verified but did not satisfy the rule is in the Decision,
// while the adapter gets no token with the denial.
func TestDecideReportsRefusedToken(t *testing.T) {
	rule, err := rules.Compile(rules.Spec{Claims: map[string]rules.Match{"role": {Value: "admin"}}})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]*manager.Token{
		"viewer": {Type: manager.Auth, Subject: "alice", ID: "j1", Claims: map[string]any{"role": "viewer"}},
		"admin":  {Type: manager.Auth, Subject: "root", ID: "j2", Claims: map[string]any{"role": "admin"}},
		// A token bound to a key whose proof the call does not carry: it
		// proves nothing, so not even the hook is told of it.
		"bound": {Type: manager.Auth, Subject: "mallory", ID: "j3", Claims: map[string]any{"role": "admin",
			"cnf": map[string]any{"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}},
	}
	v := verifierFunc(func(_ context.Context, raw string) (*manager.Token, error) {
		if tok, ok := tokens[raw]; ok {
			return tok, nil
		}
		return nil, manager.ErrSignature
	})
	tests := []struct {
		raw        string
		wantReason string
		wantToken  *manager.Token // in the Decision
	}{
		{raw: "viewer", wantReason: protojwt.ReasonClaimMismatch, wantToken: tokens["viewer"]},
		{raw: "admin", wantToken: tokens["admin"]},
		{raw: "forged", wantReason: protojwt.ReasonTokenInvalid},
		{raw: "bound", wantReason: protojwt.ReasonProofMissing},
		{raw: "", wantReason: protojwt.ReasonTokenMissing},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			var got []protojwt.Decision
			d := decide.Decider{Verifier: v, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
			tok, err := d.Decide(context.Background(), "/pkg.Svc/M", rule, tt.raw, nil, nil, rules.Vars{})
			if len(got) != 1 {
				t.Fatalf("%d decisions reported, want 1", len(got))
			}
			if got[0].Token != tt.wantToken || got[0].Reason != tt.wantReason || got[0].Allowed != (tt.wantReason == "") {
				t.Errorf("decision = %+v, want token %v, reason %q", got[0], tt.wantToken, tt.wantReason)
			}
			if tt.wantReason != "" {
				if err == nil || tok != nil {
					t.Errorf("Decide = %v, %v; want no token and a denial", tok, err)
				}
				return
			}
			if err != nil || tok != tt.wantToken {
				t.Errorf("Decide = %v, %v; want the token", tok, err)
			}
		})
	}
	// Without a hook, a refused token is not returned either.
	d := decide.Decider{Verifier: v}
	if tok, err := d.Decide(context.Background(), "/pkg.Svc/M", rule, "viewer", nil, nil, rules.Vars{}); tok != nil || !errors.Is(err, manager.ErrClaim) {
		t.Errorf("Decide without hook = %v, %v; want nil, ErrClaim", tok, err)
	}
}

// TestDecisionDuration: a decision's Duration is the time deciding took,
// verification included, on the call and on a stream message.
func TestDecisionDuration(t *testing.T) {
	const pause = 5 * time.Millisecond
	// A rule that reads the request: every stream message is decided.
	rule, err := rules.Compile(rules.Spec{Claims: map[string]rules.Match{"sub": {Var: "user"}}})
	if err != nil {
		t.Fatal(err)
	}
	vars := rules.VarFunc(func(int) (rules.Value, bool) { return rules.String("alice"), true })
	tok := &manager.Token{Type: manager.Auth, Subject: "alice", ExpiresAt: time.Now().Add(time.Hour), Claims: map[string]any{"sub": "alice"}}
	v := verifierFunc(func(context.Context, string) (*manager.Token, error) {
		time.Sleep(pause)
		return tok, nil
	})
	var got []protojwt.Decision
	d := &decide.Decider{Verifier: v, Hook: func(_ context.Context, dec protojwt.Decision) { got = append(got, dec) }}
	outer := time.Now()
	if _, err := d.Decide(context.Background(), "/pkg.Svc/M", rule, "raw", nil, nil, vars); err != nil {
		t.Fatal(err)
	}
	// Recheck 0: the stream message verifies again, and takes the pause.
	if err := d.Stream("/pkg.Svc/M", rule, "raw", tok).Message(context.Background(), vars); err != nil {
		t.Fatal(err)
	}
	took := time.Since(outer)
	if len(got) != 2 {
		t.Fatalf("%d decisions, want 2", len(got))
	}
	for i, dec := range got {
		if dec.Duration < pause || dec.Duration > took {
			t.Errorf("decision %d: Duration %v, want between the verifier's %v and the %v both took", i, dec.Duration, pause, took)
		}
	}
}
