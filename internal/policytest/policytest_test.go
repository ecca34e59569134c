package policytest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	_ "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"

	"github.com/protojwt/protojwt/annotations"
	"github.com/protojwt/protojwt/internal/policytest"
	"github.com/protojwt/protojwt/internal/testpb"
	"github.com/protojwt/protojwt/manager"
)

// TestLoadAndRun runs the cases of testdata/guarded.textpb, every one of
// which holds, against the linked test services and against the same
// services read from a descriptor set (dynamic messages).
func TestLoadAndRun(t *testing.T) {
	for name, files := range map[string]*protoregistry.Files{
		"global registry": nil,
		"descriptor set":  descriptorFiles(t),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := policytest.Load(policytest.Env{Files: files}, "testdata/guarded.textpb")
			if err != nil {
				t.Fatal(err)
			}
			results := s.Run()
			if len(results) != 10 {
				t.Fatalf("%d results, want 10", len(results))
			}
			for _, r := range results {
				if !r.Passed() {
					t.Errorf("%s", r.Line())
				}
			}
		})
	}
}

// descriptorFiles returns the test services' file and its imports as a
// registry of their own, as a descriptor set gives them.
func descriptorFiles(t *testing.T) *protoregistry.Files {
	t.Helper()
	set := &descriptorpb.FileDescriptorSet{}
	fd := testpb.File_protojwt_test_v1_test_proto
	for i := range fd.Imports().Len() {
		set.File = append(set.File, protodesc.ToFileDescriptorProto(fd.Imports().Get(i).FileDescriptor))
	}
	for _, dep := range []string{"google/protobuf/descriptor.proto", "google/protobuf/struct.proto"} {
		d, err := protoregistry.GlobalFiles.FindFileByPath(dep)
		if err != nil {
			t.Fatal(err)
		}
		set.File = append([]*descriptorpb.FileDescriptorProto{protodesc.ToFileDescriptorProto(d)}, set.File...)
	}
	set.File = append(set.File, protodesc.ToFileDescriptorProto(fd))
	files, err := protodesc.NewFiles(set)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// run runs the one case of text (a PolicyTest) and returns its result.
func run(t *testing.T, text string) policytest.Result {
	t.Helper()
	s, err := policytest.Parse(policytest.Env{}, "case.textpb", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	results := s.Run()
	if len(results) != 1 {
		t.Fatalf("%d results", len(results))
	}
	return results[0]
}

// TestFailures: a case whose outcome is not the one expected fails, and
// its line says what was expected and what decided it.
func TestFailures(t *testing.T) {
	tests := []struct {
		name string
		text string
		line []string // parts of Line
	}{
		{
			"allowed, expected denied",
			`cases { name: "n" procedure: "/protojwt.test.v1.GuardedService/FieldTop" token { claims: '{"sub":"alice"}' } request: '{"username":"alice"}' expect { reason: "CLAIM_MISMATCH" } }`,
			[]string{`FAIL case.textpb: "n" /protojwt.test.v1.GuardedService/FieldTop: want CLAIM_MISMATCH, got allowed`},
		},
		{
			"denied, expected allowed",
			`cases { procedure: "/protojwt.test.v1.GuardedService/FieldTop" token { claims: '{"sub":"bob"}' } request: '{"username":"alice"}' expect { allowed: true } }`,
			[]string{"FAIL case.textpb: case 1", "want allowed, got CLAIM_MISMATCH (claim mismatch: claim sub: equals field:username: not equal)"},
		},
		{
			"another reason",
			`cases { procedure: "/protojwt.test.v1.GuardedService/Scopes" token { claims: '{"scope":"read"}' } expect { reason: "CLAIM_MISMATCH" } }`,
			[]string{"want CLAIM_MISMATCH, got SCOPE_MISSING (insufficient scope: scope write: not granted)"},
		},
		{
			"explanation not found",
			`cases { procedure: "/protojwt.test.v1.GuardedService/Scopes" token { claims: '{"scope":"read"}' } expect { reason: "SCOPE_MISSING" explanation: "scope read" } }`,
			[]string{`want SCOPE_MISSING with "scope read" in the explanation, got SCOPE_MISSING (insufficient scope: scope write: not granted)`},
		},
		{
			"unknown method",
			`cases { procedure: "/protojwt.test.v1.GuardedService/Nope" expect { allowed: true } }`,
			[]string{"service protojwt.test.v1.GuardedService has no method Nope"},
		},
		{
			"unknown service",
			`cases { procedure: "/nope.v1.S/M" expect { allowed: true } }`,
			[]string{"no service nope.v1.S"},
		},
		{
			"not a procedure",
			`cases { procedure: "GET /x" expect { allowed: true } }`,
			[]string{`procedure "GET /x" is neither a full method`},
		},
		{
			"bad request",
			`cases { procedure: "/protojwt.test.v1.GuardedService/FieldTop" token { claims: '{"sub":"alice"}' } request: '{"user":"alice"}' expect { allowed: true } }`,
			[]string{"request is not protojson of protojwt.test.v1.FieldTopRequest"},
		},
		{
			"claims not an object",
			`cases { procedure: "/protojwt.test.v1.GuardedService/FieldTop" token { claims: '["alice"]' } expect { allowed: true } }`,
			[]string{"claims are not a JSON object"},
		},
		{
			"route path of another route",
			`routes { key: "GET /a/{id}" value {} } cases { procedure: "GET /a/{id}" path: "/b/1" token { claims: '{}' } expect { allowed: true } }`,
			[]string{`path "/b/1" is not served by route "GET /a/{id}"`},
		},
		{
			"route wildcards without a path",
			`routes { key: "GET /a/{id}" value {} } cases { procedure: "GET /a/{id}" token { claims: '{}' } expect { allowed: true } }`,
			[]string{"give the case a path"},
		},
		{
			"route rule invalid",
			`routes { key: "GET /a/{id}" value { public: true scopes: "x" } } cases { procedure: "GET /a/{id}" path: "/a/1" expect { allowed: true } }`,
			[]string{"a public rule can't have other requirements"},
		},
		{
			"jwt without jwks",
			`cases { procedure: "/protojwt.test.v1.GuardedService/Scopes" token { jwt: "a.b.c" } expect { allowed: true } }`,
			[]string{"needs the file's jwks"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, tt.text)
			if r.Passed() {
				t.Fatalf("passed: %s", r.Line())
			}
			for _, want := range tt.line {
				if !strings.Contains(r.Line(), want) {
					t.Errorf("line %q lacks %q", r.Line(), want)
				}
			}
		})
	}
}

// TestInvalidFiles: a file that can't be run as written is an error when
// it is read, naming the case.
func TestInvalidFiles(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"not text format", `cases {`, "not a protojwt.v1.PolicyTest"},
		{"no cases", ``, "no cases"},
		{"no procedure", `cases { name: "x" expect { allowed: true } }`, `"x": no procedure`},
		{"no expect", `cases { procedure: "/a.B/C" }`, "case 1: expect says neither"},
		{"allowed false", `cases { procedure: "/a.B/C" expect { allowed: false } }`, "name the reason instead"},
		{"unknown reason", `cases { procedure: "/a.B/C" expect { reason: "NOPE" } }`, `unknown reason "NOPE"`},
		{"explanation with allowed", `cases { procedure: "/a.B/C" expect { allowed: true explanation: "x" } }`, "explanation is for a denial"},
		{"empty token", `cases { procedure: "/a.B/C" token {} expect { allowed: true } }`, "token has neither claims nor jwt"},
		{"bad time", `time: "yesterday" cases { procedure: "/a.B/C" expect { allowed: true } }`, "not RFC 3339"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policytest.Parse(policytest.Env{}, "f.textpb", []byte(tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestSignedToken verifies a token signed by another issuer's key with
// the file's jwks, at the file's time: a token that has since expired
// still verifies then, and a token signed by another key never does.
func TestSignedToken(t *testing.T) {
	issue := func(t *testing.T, now time.Time) (*manager.Manager, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m, err := manager.New(manager.Config{Issuer: "https://idp.example", Algorithm: "ES256", PrivateKey: key, KeyID: "k1"}, manager.WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := m.AuthToken("alice", "read write", nil)
		if err != nil {
			t.Fatal(err)
		}
		return m, tok.Signed
	}
	then := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	m, signed := issue(t, then)
	_, forged := issue(t, then) // same kid, another key
	pt := func(jwt, at, reason string) string {
		expect := `expect { allowed: true }`
		if reason != "" {
			expect = `expect { reason: "` + reason + `" }`
		}
		return prototext.Format(&annotations.PolicyTest{Jwks: string(m.JWKS()), Time: at}) +
			` cases { procedure: "/protojwt.test.v1.GuardedService/Scopes" token { jwt: "` + jwt + `" } ` + expect + ` }`
	}
	for _, tt := range []struct {
		name, jwt, at, reason string
	}{
		{"at its time", signed, "2026-01-02T15:05:00Z", ""},
		{"now, expired", signed, "", "TOKEN_EXPIRED"},
		{"another key", forged, "2026-01-02T15:05:00Z", "TOKEN_INVALID"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, pt(tt.jwt, tt.at, tt.reason))
			if !r.Passed() {
				t.Fatal(r.Line())
			}
		})
	}
}

// TestExplain explains every case of testdata/guarded.textpb: the trace's
// verdict is the adapter's (Explain checks it), a denial has exactly one
// step that decides it, and an allowed call none.
func TestExplain(t *testing.T) {
	s, err := policytest.Load(policytest.Env{}, "testdata/guarded.textpb")
	if err != nil {
		t.Fatal(err)
	}
	for i := range s.Run() {
		e, err := s.Explain(i)
		if err != nil {
			t.Fatalf("case %d: %v", i+1, err)
		}
		if len(e.Steps) == 0 {
			t.Fatalf("%s: no steps", e.Name)
		}
		decides := 0
		for _, st := range e.Steps {
			if st.Decides {
				decides++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[policytest.Denied(e.Decision)]; decides != want {
			t.Errorf("%s: %d steps decide, want %d: %+v", e.Name, decides, want, e.Steps)
		}
	}
	if _, err := s.Explain(99); err == nil {
		t.Error("Explain(99): no error")
	}
}

// TestExplainShowsValues: explain shows the claim and the request field it
// was compared with, which Decision.Err never holds.
func TestExplainShowsValues(t *testing.T) {
	s, err := policytest.Parse(policytest.Env{}, "f", []byte(
		`cases { procedure: "/protojwt.test.v1.GuardedService/FieldTop" token { claims: '{"sub":"bob"}' } request: '{"username":"alice"}' expect { allowed: true } }`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Explain(0)
	if err != nil {
		t.Fatal(err)
	}
	last := e.Steps[len(e.Steps)-1]
	if !last.Decides || last.Values != `claim "bob", request "alice"` {
		t.Errorf("last step %+v", last)
	}
	if strings.Contains(e.Decision.Err.Error(), "bob") {
		t.Errorf("Decision.Err holds a claim value: %v", e.Decision.Err)
	}
}

// TestRuleSetAndDryRun runs cases on a service with no annotations
// (grpc.health.v1.Health) whose rules come from a rule set, as the
// servers' WithRuleSet gives them, and on dry-run rules, whose cases test
// what the rule decides though it is not enforced.
func TestRuleSetAndDryRun(t *testing.T) {
	set, err := annotations.ParseRuleSet([]byte(`
methods { key: "/grpc.health.v1.Health/Check" value { scopes: "health:read" } }
methods { key: "/grpc.health.v1.Health/List" value { scopes: "health:read" dry_run: true } }
`))
	if err != nil {
		t.Fatal(err)
	}
	const cases = `
routes { key: "GET /dry/{id}" value { claims { key: "sub" value { field: "id" } } dry_run: true } }
cases { name: "granted" procedure: "/grpc.health.v1.Health/Check" token { claims: '{"scope":"health:read"}' } expect { allowed: true } }
cases { name: "not granted" procedure: "/grpc.health.v1.Health/Check" token { claims: '{"scope":"other"}' } expect { reason: "SCOPE_MISSING" explanation: "scope health:read" } }
cases { name: "dry, would deny" procedure: "/grpc.health.v1.Health/List" token { claims: '{"scope":"other"}' } expect { reason: "SCOPE_MISSING" } }
cases { name: "dry, allows" procedure: "/grpc.health.v1.Health/List" token { claims: '{"scope":"health:read"}' } expect { allowed: true } }
cases { name: "dry route, would deny" procedure: "GET /dry/{id}" path: "/dry/alice" token { claims: '{"sub":"bob"}' } expect { reason: "CLAIM_MISMATCH" } }
cases { name: "undeclared" procedure: "/grpc.health.v1.Health/Watch" token { claims: '{}' } expect { reason: "METHOD_NOT_DECLARED" } }
`
	s, err := policytest.Parse(policytest.Env{RuleSet: set}, "f", []byte(cases))
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range s.Run() {
		if !r.Passed() {
			t.Errorf("%s", r.Line())
		}
		if _, err := s.Explain(i); err != nil {
			t.Errorf("Explain(%d): %v", i, err)
		}
	}
	// A dry-run rule's would-be denial fails a case expecting allowed,
	// saying it is not enforced.
	s, err = policytest.Parse(policytest.Env{RuleSet: set}, "f", []byte(
		`cases { procedure: "/grpc.health.v1.Health/List" token { claims: '{"scope":"other"}' } expect { allowed: true } }`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Run()[0]
	if r.Passed() || !strings.Contains(r.Line(), "got SCOPE_MISSING (insufficient scope: scope health:read: not granted), not enforced: dry run") {
		t.Errorf("line %q", r.Line())
	}
	// Without the set, the health service has no rules.
	s, err = policytest.Parse(policytest.Env{}, "f", []byte(
		`cases { procedure: "/grpc.health.v1.Health/Check" token { claims: '{"scope":"health:read"}' } expect { allowed: true } }`))
	if err != nil {
		t.Fatal(err)
	}
	if r := s.Run()[0]; r.Passed() || !strings.Contains(r.Line(), "got METHOD_NOT_DECLARED") {
		t.Errorf("without the rule set: %s", r.Line())
	}
}

// TestScopeClaims: the file's scope_claims name the claims that grant
// scopes, as Config.ScopeClaims does; by default only "scope" does.
func TestScopeClaims(t *testing.T) {
	const c = `cases { procedure: "/protojwt.test.v1.GuardedService/Scopes" token { claims: '{"scp":"read write"}' } expect { allowed: true } }`
	if r := run(t, `scope_claims: "scp" `+c); !r.Passed() {
		t.Error(r.Line())
	}
	if r := run(t, c); r.Passed() || !strings.Contains(r.Line(), "got SCOPE_MISSING") {
		t.Errorf("without scope_claims: %s", r.Line())
	}
}
