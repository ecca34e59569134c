package decide_test

import (
	"context"
	"testing"

	"github.com/protojwt/protojwt/internal/decide"
	"github.com/protojwt/protojwt/manager"
)

func TestWithToken(t *testing.T) {
	ctx := context.Background()
	if got := decide.WithToken(ctx, nil); got != ctx {
		t.Errorf("WithToken(ctx, nil) = %v, want ctx itself", got)
	}
	if _, ok := manager.FromContext(decide.WithToken(ctx, nil)); ok {
		t.Error("WithToken(ctx, nil) carries a token")
	}
	tok := &manager.Token{Subject: "alice"}
	if got, ok := manager.FromContext(decide.WithToken(ctx, tok)); !ok || got != tok {
		t.Errorf("FromContext(WithToken(ctx, tok)) = %v, %v; want tok", got, ok)
	}
}
