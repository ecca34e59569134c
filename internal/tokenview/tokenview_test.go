package tokenview

import "testing"

// slot is how a token type embeds a Slot: under an unexported alias.
type slot = Slot

// token stands for manager.Token.
type token struct {
	Subject string
	slot
}

// TestOf checks that Of finds the View a token's Slot holds, and answers
// nil for a token whose Slot holds none, for values of other types and
// for nil.
func TestOf(t *testing.T) {
	view := &View{Type: "auth", Subject: "alice", Claims: map[string]any{"sub": "alice"}}
	filled := &token{Subject: "mallory"}
	Fill(&filled.slot, view)
	if v := Of(filled); v != view {
		t.Errorf("Of(filled token) = %+v, want its view", v)
	}
	for name, tok := range map[string]any{
		"empty token":      &token{Subject: "alice"},
		"token literal":    token{},
		"another type":     "anything",
		"another pointer":  new(int),
		"nil":              nil,
		"nil token":        (*token)(nil),
		"overwritten copy": func() any { c := &token{}; *c = token{Subject: "x"}; return c }(),
	} {
		if v := Of(tok); v != nil {
			t.Errorf("Of(%s) = %+v, want nil", name, v)
		}
	}
}
