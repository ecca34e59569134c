package introspection_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/internal/rules"
	"github.com/protojwt/protojwt/introspection"
)

// TestReasons checks the denial each answer becomes in the adapters: an
// inactive token asks the client to log in again, an outage to retry.
func TestReasons(t *testing.T) {
	s := newServer(t)
	now := time.Now()
	s.add("opaque-expired", map[string]any{"sub": "a", "exp": float64(now.Add(-time.Minute).Unix())})
	s.add("opaque-other-issuer", map[string]any{"sub": "a", "iss": "https://other.example"})
	in := newIntrospector(t, s)
	down := newServer(t)
	down.set(func(s *server) { s.status = http.StatusBadGateway })
	outage := newIntrospector(t, down)
	tests := []struct {
		name   string
		in     *introspection.Introspector
		token  string
		kind   rules.Denial
		reason string
	}{
		{"inactive", in, "opaque-unknown", rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{"expired", in, "opaque-expired", rules.Unauthenticated, protojwt.ReasonTokenExpired},
		{"other issuer", in, "opaque-other-issuer", rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{"malformed", in, "opaque token", rules.Unauthenticated, protojwt.ReasonTokenInvalid},
		{"endpoint answers 502", outage, "opaque-a", rules.Unavailable, protojwt.ReasonKeysUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.in.Verify(context.Background(), tt.token)
			if err == nil {
				t.Fatal("Verify allowed")
			}
			if kind, reason := rules.Classify(err); kind != tt.kind || reason != tt.reason {
				t.Errorf("Classify = %v %s, want %v %s", kind, reason, tt.kind, tt.reason)
			}
		})
	}
}
