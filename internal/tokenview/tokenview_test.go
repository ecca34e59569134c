package tokenview

import "testing"

// TestOf checks that Of answers nil until an accessor is registered and
// for nil, and otherwise what the accessor says.
func TestOf(t *testing.T) {
	saved := of
	t.Cleanup(func() { of = saved })

	of = nil
	if v := Of("anything"); v != nil {
		t.Fatalf("Of() without an accessor = %+v, want nil", v)
	}
	view := &View{Type: "auth", Subject: "alice", Claims: map[string]any{"sub": "alice"}}
	Register(func(tok any) *View {
		if tok == "mine" {
			return view
		}
		return nil
	})
	if v := Of("mine"); v != view {
		t.Errorf("Of(registered token) = %+v, want the accessor's view", v)
	}
	if v := Of("other"); v != nil {
		t.Errorf("Of(another token) = %+v, want nil", v)
	}
	if v := Of(nil); v != nil {
		t.Errorf("Of(nil) = %+v, want nil", v)
	}
}
