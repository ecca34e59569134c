package decide_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/manager"
)

// verifierFunc is a Verifier that is a func, nil or not.
type verifierFunc func(context.Context, string) (*manager.Token, error)

func (f verifierFunc) Verify(ctx context.Context, s string) (*manager.Token, error) { return f(ctx, s) }

func TestCheck(t *testing.T) {
	var nilManager *manager.Manager
	var nilFunc verifierFunc
	live := verifierFunc(func(context.Context, string) (*manager.Token, error) { return nil, nil })
	tests := []struct {
		name    string
		v       manager.Verifier
		recheck time.Duration
		want    []string
	}{
		{name: "good", v: live, recheck: time.Minute},
		{name: "zero recheck", v: live},
		{name: "nil", v: nil, want: []string{"nil verifier"}},
		{name: "nil pointer", v: nilManager, want: []string{"nil verifier"}},
		{name: "nil func", v: nilFunc, want: []string{"nil verifier"}},
		{name: "negative recheck", v: live, recheck: -time.Second, want: []string{"WithStreamRecheck: negative interval -1s"}},
		{name: "both", v: nil, recheck: -1, want: []string{"nil verifier", "WithStreamRecheck"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := decide.Check(tt.v, tt.recheck)
			if len(errs) != len(tt.want) {
				t.Fatalf("Check = %v, want %d errors", errs, len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %d = %q, want it to say %q", i, errs[i], want)
				}
			}
		})
	}
}
