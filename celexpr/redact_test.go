package celexpr_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt"
	"github.com/protojwt/protojwt/annotations"
	auditlog "github.com/protojwt/protojwt/audit"
	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/connectauth"
	"github.com/protojwt/protojwt/httpauth"
	"github.com/protojwt/protojwt/interceptor"
)

// secret is a claim value that must not reach an error's text.
const secret = "s3cret-4711"

// TestEvalErrorsHoldNoValues: an evaluation error says where the
// expression failed, and holds no value of the claims: CEL's messages that
// quote a value are replaced, names the expression spells are kept.
func TestEvalErrorsHoldNoValues(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string // in the error's text
	}{
		{"a claim that is no timestamp", "timestamp(claims.pin) > timestamp('2026-01-01T00:00:00Z')", "timestamp() failed"},
		{"a claim as a pattern", "'x'.matches(claims.pattern)", "matches() failed"},
		{"a claim as a key", "claims[claims.pin] == 1", "no such key (a name the expression does not spell, withheld)"},
		{"a claim as a nested key", "claims.pins[claims.pin] == 1", "no such key (a name the expression does not spell, withheld)"},
		{"a claim as an index", "claims.roles[claims.n] == 'x'", "index out of range"},
		{"a claim as an index of a literal list", "['a'][claims.n] == 'x'", "index out of range"},
		{"a missing claim, named", "claims.tier == 'gold'", "no such key: tier"},
		{"a key the expression spells", "claims['pin-2'] == 1", "no such key: pin-2"},
		{"a claim of the wrong type", "claims.pin.startsWith(claims.n)", "no such overload"},
		{"a claim that is no number: types only", "int(claims.pin) == 1", "type conversion error from 'string' to 'int'"},
		{"a claim that is no duration: types only", "duration(claims.pin) > duration('1s')", "type conversion error from 'string' to 'google.protobuf.Duration'"},
		{"a claim too large", "int(claims.big) == 1", "integer overflow"},
		{"division by zero", "claims.n / 0 == 1", "division by zero"},
	}
	claims := map[string]any{"pin": secret, "pattern": secret + "(", "roles": []any{"a"}, "n": 4711.0, "pins": map[string]any{}, "big": 1e300}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := celexpr.New().Compile(tt.expr, nil)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tt.expr, err)
			}
			_, err = x.Eval(protojwt.ExpressionInput{Claims: claims})
			if err == nil {
				t.Fatalf("Eval(%q) succeeded, want an error", tt.expr)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "4711") {
				t.Fatalf("error %q holds a claim's value", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

// recorder keeps every decision and what audit.Hook logs of them.
type recorder struct {
	mu        sync.Mutex
	decisions []protojwt.Decision
	log       bytes.Buffer
	audit     func(context.Context, protojwt.Decision)
}

func newRecorder() *recorder {
	r := &recorder{}
	r.audit = auditlog.Hook(slog.New(slog.NewJSONHandler(&r.log, nil)))
	return r
}

func (r *recorder) hook(ctx context.Context, d protojwt.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.decisions = append(r.decisions, d)
	r.audit(ctx, d)
}

// last returns the last decision's error text and the audit log so far.
func (r *recorder) last(t *testing.T) (string, string) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.decisions) == 0 || r.decisions[len(r.decisions)-1].Err == nil {
		t.Fatalf("decisions %v: want the last with an error", r.decisions)
	}
	return r.decisions[len(r.decisions)-1].Err.Error(), r.log.String()
}

// TestTransportErrorsHoldNoValues: on every adapter, over a real server, a
// decision denied by an evaluation error whose CEL message would quote a
// claim holds no claim value, in Decision.Err nor in audit.Hook's record,
// and says what failed; a call refused at the cost limit says which
// function was refused before it ran.
func TestTransportErrorsHoldNoValues(t *testing.T) {
	m := newManager(t)
	signed := token(t, m, "alice", nil, map[string]any{"door": secret, "pins": map[string]any{"front": 1}, "pin": secret, "motto": hostileText(4000)})
	wantRedacted := func(t *testing.T, r *recorder) {
		t.Helper()
		msg, log := r.last(t)
		if strings.Contains(msg, secret) || strings.Contains(log, secret) {
			t.Fatalf("the claim's value reached Decision.Err %q or the audit record %s", msg, log)
		}
		const want = "no such key (a name the expression does not spell, withheld)"
		if !strings.Contains(msg, want) || !strings.Contains(log, want) {
			t.Fatalf("Decision.Err %q, audit record %s: want them to say %q", msg, log, want)
		}
	}
	wantRefused := func(t *testing.T, r *recorder) {
		t.Helper()
		if msg, _ := r.last(t); !strings.Contains(msg, "matches() would exceed the cost limit") {
			t.Fatalf("Decision.Err %q: want matches refused before it ran", msg)
		}
	}

	t.Run("grpc", func(t *testing.T) {
		r := newRecorder()
		client := serve(t, m, interceptor.WithExpressions(celexpr.New()), interceptor.WithDecisionHook(r.hook))
		_, err := client.Unlock(as(signed), &testpb.UnlockRequest{Pin: 4711})
		wantDenied(t, err, codes.PermissionDenied, protojwt.ReasonExpressionError)
		wantRedacted(t, r)
		_, err = client.Search(as(signed), &testpb.SearchRequest{Text: hostileText(messageLimit / 2), Pattern: hostilePattern(messageLimit/2 - 64)})
		wantDenied(t, err, codes.PermissionDenied, protojwt.ReasonExpressionError)
		wantRefused(t, r)
	})
	for _, p := range connectProtocols {
		t.Run("connect/"+p.name, func(t *testing.T) {
			r := newRecorder()
			s := serveConnect(t, m, connectauth.WithExpressions(celexpr.New()), connectauth.WithDecisionHook(r.hook))
			_, err := s.call(t, p, signed, &testpb.UnlockRequest{Pin: 4711})
			wantConnectDenied(t, err, connect.CodePermissionDenied, protojwt.ReasonExpressionError)
			wantRedacted(t, r)
			_, err = s.call(t, p, signed, &testpb.SearchRequest{Text: hostileText(messageLimit / 2), Pattern: hostilePattern(messageLimit/2 - 64)})
			wantConnectDenied(t, err, connect.CodePermissionDenied, protojwt.ReasonExpressionError)
			wantRefused(t, r)
		})
	}
	t.Run("http", func(t *testing.T) {
		r := newRecorder()
		guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New()), httpauth.WithDecisionHook(r.hook))
		ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
		mux := http.NewServeMux()
		mux.Handle("GET /unlock/{pin}", guard.Require(httpauth.FromRule(&annotations.Rule{Expr: "claims.pins[claims.door] == int(path.pin)"}))(ok))
		mux.Handle("GET /motto/{pattern}", guard.Require(httpauth.FromRule(&annotations.Rule{Expr: "claims.motto.matches(path.pattern)"}))(ok))
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		get := func(path string) int {
			req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+signed)
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if got := get("/unlock/4711"); got != http.StatusForbidden {
			t.Fatalf("status %d, want 403", got)
		}
		wantRedacted(t, r)
		if got := get("/motto/" + url.PathEscape(hostilePattern(1<<18))); got != http.StatusForbidden {
			t.Fatalf("status %d, want 403", got)
		}
		wantRefused(t, r)
	})
}
