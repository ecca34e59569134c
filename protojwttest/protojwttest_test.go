package protojwttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoregistry"

	_ "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/protojwt/protojwt/annotations"
	_ "github.com/protojwt/protojwt/internal/testpb"
)

// recorder records what run reports.
type recorder struct{ errors, logs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(format string, args ...any) {
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func write(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cases.textpb")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const holds = `cases {
  procedure: "/protojwt.test.v1.GuardedService/FieldTop"
  token { claims: '{"sub": "alice"}' }
  request: '{"username": "alice"}'
  expect { allowed: true }
}`

const fails = `cases {
  name: "wrong"
  procedure: "/protojwt.test.v1.GuardedService/FieldTop"
  token { claims: '{"sub": "bob"}' }
  request: '{"username": "alice"}'
  expect { allowed: true }
}`

// TestRun: Run passes on cases that hold, with the services linked into
// the test.
func TestRun(t *testing.T) {
	Run(t, write(t, holds))
	New(WithResolver(protoregistry.GlobalFiles), WithExpressions(nil), nil).Run(t, write(t, holds))
}

// TestWithRuleSet: the rules of a rule set decide the cases of a service
// whose .proto has none.
func TestWithRuleSet(t *testing.T) {
	set, err := annotations.ParseRuleSet([]byte(`services { key: "grpc.health.v1.Health" value { scopes: "health" } }`))
	if err != nil {
		t.Fatal(err)
	}
	cases := write(t, `cases { procedure: "/grpc.health.v1.Health/Check" token { claims: '{"scope":"health"}' } expect { allowed: true } }
cases { procedure: "/grpc.health.v1.Health/Check" token { claims: '{"scope":"x"}' } expect { reason: "SCOPE_MISSING" } }`)
	New(WithRuleSet(set)).Run(t, cases)
	var rec recorder
	New().run(&rec, []string{cases})
	if len(rec.errors) != 2 {
		t.Errorf("without the rule set: %q", rec.errors)
	}
}

// TestRunFails: a case that does not hold, a file that can't be read and
// no file at all each fail the test, saying why.
func TestRunFails(t *testing.T) {
	tests := []struct {
		name  string
		files []string
		want  []string
	}{
		{"wrong outcome", []string{write(t, holds), write(t, fails)}, []string{`"wrong" /protojwt.test.v1.GuardedService/FieldTop: want allowed, got CLAIM_MISMATCH (claim mismatch: claim sub: equals field:username: not equal)`}},
		{"bad file", []string{write(t, "cases {")}, []string{"is not a protojwt.v1.PolicyTest"}},
		{"missing file", []string{"/nonexistent.textpb"}, []string{"no such file"}},
		{"no file", nil, []string{"no case files"}},
		{"empty resolver", []string{write(t, holds)}, []string{"no service protojwt.test.v1.GuardedService"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			r := New()
			if tt.name == "empty resolver" {
				r = New(WithResolver(new(protoregistry.Files)))
			}
			r.run(&rec, tt.files)
			if len(rec.errors) != len(tt.want) {
				t.Fatalf("errors %q, want %d", rec.errors, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(rec.errors[i], w) {
					t.Errorf("error %q lacks %q", rec.errors[i], w)
				}
			}
		})
	}
}
