package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/audit"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/manager"
)

const testIssuer = "https://auth.test"

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func newManager(t *testing.T, opts ...manager.Option) *manager.Manager {
	t.Helper()
	m, err := manager.New(manager.Config{Issuer: testIssuer, Algorithm: "HS256", Secret: testSecret}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func authToken(t *testing.T, m *manager.Manager, sub string, claims map[string]any) *manager.Token {
	t.Helper()
	tok, err := m.AuthToken(sub, nil, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// records decodes the JSON lines a slog.JSONHandler wrote.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("record %q: %v", line, err)
		}
		out = append(out, r)
	}
	return out
}

// TestHookOverHTTP runs the hook behind httpauth and checks the record of
// each request: who, why, and never the token or its claims.
func TestHookOverHTTP(t *testing.T) {
	m := newManager(t)
	alice := authToken(t, m, "alice", map[string]any{"role": "viewer", "secret_claim": "s3cr3t-value"})
	root := authToken(t, m, "root", map[string]any{"role": "admin"})
	expired := authToken(t, newManager(t, manager.WithClock(func() time.Time { return time.Now().Add(-2 * time.Hour) })), "alice", nil)

	cases := []struct {
		name       string
		allowed    bool // WithAllowed
		token      string
		wantRecord bool
		wantLevel  string
		wantMsg    string
		wantReason string // "" for an allowed call
		wantToken  *manager.Token
	}{
		{name: "no token", token: "", wantRecord: true, wantLevel: "WARN", wantMsg: audit.MessageDenied, wantReason: protojwt.ReasonTokenMissing},
		{name: "expired", token: expired.Signed, wantRecord: true, wantLevel: "WARN", wantMsg: audit.MessageDenied, wantReason: protojwt.ReasonTokenExpired},
		{name: "bad signature", token: alice.Signed[:len(alice.Signed)-4] + "AAAA", wantRecord: true, wantLevel: "WARN", wantMsg: audit.MessageDenied, wantReason: protojwt.ReasonTokenInvalid},
		{name: "claim mismatch names the caller", token: alice.Signed, wantRecord: true, wantLevel: "WARN", wantMsg: audit.MessageDenied, wantReason: protojwt.ReasonClaimMismatch, wantToken: alice},
		{name: "allowed, not written by default", token: root.Signed},
		{name: "allowed, written WithAllowed", allowed: true, token: root.Signed, wantRecord: true, wantLevel: "INFO", wantMsg: audit.MessageAllowed, wantToken: root},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var opts []audit.Option
			if tc.allowed {
				opts = append(opts, audit.WithAllowed())
			}
			hook := audit.Hook(slog.New(slog.NewJSONHandler(&buf, nil)), opts...)
			guard := httpauth.New(m, httpauth.WithDecisionHook(hook))
			mux := http.NewServeMux()
			mux.Handle("GET /admin/{section}", guard.Require(httpauth.Claim("role", "admin"))(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
			req := httptest.NewRequest(http.MethodGet, "/admin/users", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			mux.ServeHTTP(httptest.NewRecorder(), req)

			got := records(t, &buf)
			if !tc.wantRecord {
				if len(got) != 0 {
					t.Fatalf("records = %v, want none", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d records, want 1: %s", len(got), buf.String())
			}
			r := got[0]
			want := map[string]any{
				"level":            tc.wantLevel,
				"msg":              tc.wantMsg,
				audit.KeyProcedure: "GET /admin/{section}",
				audit.KeyStage:     "call",
			}
			if tc.wantReason != "" {
				want[audit.KeyReason] = tc.wantReason
			}
			if tc.wantToken != nil {
				want[audit.KeySubject] = tc.wantToken.Subject
				want[audit.KeyIssuer] = testIssuer
				want[audit.KeyTokenID] = tc.wantToken.ID
			}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %v, want %v (record %v)", k, r[k], v, r)
				}
			}
			for _, k := range []string{audit.KeySubject, audit.KeyIssuer, audit.KeyTokenID} {
				if _, has := r[k]; has && tc.wantToken == nil {
					t.Errorf("%s written for a token that did not verify: %v", k, r)
				}
			}
			if _, has := r[audit.KeyError]; has == (tc.wantReason == "") {
				t.Errorf("error attribute present = %v for reason %q", has, tc.wantReason)
			}
			if _, has := r[audit.KeyDuration]; !has {
				t.Errorf("no duration: %v", r)
			}
			if tc.token != "" {
				sig := tc.token[strings.LastIndexByte(tc.token, '.')+1:]
				if strings.Contains(buf.String(), sig) {
					t.Errorf("the record holds the token's signature: %s", buf.String())
				}
			}
			if strings.Contains(buf.String(), "s3cr3t-value") {
				t.Errorf("the record holds a claim: %s", buf.String())
			}
		})
	}
}

// TestHookDecisions drives the hook with decisions directly: stream
// messages, levels, a logger that is off, long procedure names.
func TestHookDecisions(t *testing.T) {
	denial := protojwt.Decision{
		Procedure: "/pkg.Svc/Chat",
		Reason:    protojwt.ReasonClaimMismatch,
		Err:       manager.ErrClaim,
		Message:   true,
		Duration:  3 * time.Microsecond,
	}
	t.Run("stream message", func(t *testing.T) {
		var buf bytes.Buffer
		audit.Hook(slog.New(slog.NewJSONHandler(&buf, nil)))(context.Background(), denial)
		got := records(t, &buf)
		if len(got) != 1 || got[0][audit.KeyStage] != "message" || got[0][audit.KeyError] != manager.ErrClaim.Error() {
			t.Fatalf("records = %v", got)
		}
	})
	t.Run("levels", func(t *testing.T) {
		var buf bytes.Buffer
		hook := audit.Hook(slog.New(slog.NewJSONHandler(&buf, nil)), audit.WithAllowed(), audit.WithLevels(slog.LevelError, slog.LevelWarn))
		hook(context.Background(), denial)
		hook(context.Background(), protojwt.Decision{Procedure: "/pkg.Svc/Get", Allowed: true})
		got := records(t, &buf)
		if len(got) != 2 || got[0]["level"] != "ERROR" || got[1]["level"] != "WARN" {
			t.Fatalf("records = %v", got)
		}
		if _, has := got[1][audit.KeyReason]; has {
			t.Errorf("an allowed call has a reason: %v", got[1])
		}
	})
	t.Run("level off", func(t *testing.T) {
		var buf bytes.Buffer
		hook := audit.Hook(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelError})))
		hook(context.Background(), denial)
		if buf.Len() != 0 {
			t.Fatalf("wrote %s below the handler's level", buf.String())
		}
	})
	t.Run("long procedure is cut", func(t *testing.T) {
		var buf bytes.Buffer
		long := denial
		long.Procedure = "/" + strings.Repeat("é", 1000)
		audit.Hook(slog.New(slog.NewJSONHandler(&buf, nil)))(context.Background(), long)
		got := records(t, &buf)
		p, _ := got[0][audit.KeyProcedure].(string)
		if len(p) > 256+len("…") || !strings.HasSuffix(p, "é…") {
			t.Fatalf("procedure of %d bytes: %q", len(p), p)
		}
	})
	t.Run("nil logger is slog.Default", func(t *testing.T) {
		var buf bytes.Buffer
		prev := slog.Default()
		t.Cleanup(func() { slog.SetDefault(prev) })
		hook := audit.Hook(nil)
		slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil))) // after Hook: read per decision
		hook(context.Background(), denial)
		if got := records(t, &buf); len(got) != 1 || got[0]["msg"] != audit.MessageDenied {
			t.Fatalf("records = %v", got)
		}
	})
	t.Run("context reaches the handler", func(t *testing.T) {
		h := &ctxHandler{}
		ctx := context.WithValue(context.Background(), ctxKey{}, "trace-1")
		audit.Hook(slog.New(h))(ctx, denial)
		if h.got != "trace-1" {
			t.Fatalf("handler saw context value %q", h.got)
		}
	})
}

type ctxKey struct{}

// ctxHandler records the context value of ctxKey of the record it handles.
type ctxHandler struct{ got string }

func (h *ctxHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *ctxHandler) Handle(ctx context.Context, _ slog.Record) error {
	h.got, _ = ctx.Value(ctxKey{}).(string)
	return nil
}
func (h *ctxHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *ctxHandler) WithGroup(string) slog.Handler      { return h }
