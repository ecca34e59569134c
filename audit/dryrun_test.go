package audit_test

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/audit"
	"github.com/protojwt/protojwt/manager"
)

// TestHookDryRun checks that a dry run's would-be denial is written by
// default, at the level of denials, apart from denials, and that a dry
// run's allowed decision is written only with WithAllowed.
func TestHookDryRun(t *testing.T) {
	tok := &manager.Token{Subject: "alice", Issuer: testIssuer, ID: "j1"}
	for _, tt := range []struct {
		name      string
		opts      []audit.Option
		d         protojwt.Decision
		wantMsg   string // "" for no record
		wantLevel string
	}{
		{"would deny", nil,
			protojwt.Decision{Procedure: "/a.B/C", Allowed: true, DryRun: true, Reason: protojwt.ReasonClaimMismatch, Err: manager.ErrClaim, Token: tok},
			audit.MessageWouldDeny, "WARN"},
		{"dry run allowed, by default", nil,
			protojwt.Decision{Procedure: "/a.B/C", Allowed: true, DryRun: true, Token: tok}, "", ""},
		{"dry run allowed, WithAllowed", []audit.Option{audit.WithAllowed()},
			protojwt.Decision{Procedure: "/a.B/C", Allowed: true, DryRun: true, Token: tok}, audit.MessageAllowed, "INFO"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			hook := audit.Hook(slog.New(slog.NewJSONHandler(&buf, nil)), tt.opts...)
			hook(context.Background(), tt.d)
			recs := records(t, &buf)
			if tt.wantMsg == "" {
				if len(recs) != 0 {
					t.Fatalf("records %v, want none", recs)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			r := recs[0]
			if r["msg"] != tt.wantMsg || r["level"] != tt.wantLevel || r[audit.KeyDryRun] != true || r[audit.KeySubject] != "alice" {
				t.Errorf("record %v; want %q at %s with dry_run and the subject", r, tt.wantMsg, tt.wantLevel)
			}
			if reason, _ := r[audit.KeyReason].(string); reason != tt.d.Reason {
				t.Errorf("reason %q, want %q", reason, tt.d.Reason)
			}
		})
	}
}
