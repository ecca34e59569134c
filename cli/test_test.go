package cli

import (
	"strings"
	"testing"
)

// guardedCases are cases on the test services' rules: every one holds.
const guardedCases = `
routes {
  key: "GET /orders/{id}"
  value { claims { key: "sub" value { field: "id" } } }
}
cases {
  name: "own"
  procedure: "/protojwt.test.v1.GuardedService/FieldTop"
  token { claims: '{"sub": "alice"}' }
  request: '{"username": "alice"}'
  expect { allowed: true }
}
cases {
  name: "other"
  procedure: "/protojwt.test.v1.GuardedService/FieldTop"
  token { claims: '{"sub": "bob"}' }
  request: '{"username": "alice"}'
  expect { reason: "CLAIM_MISMATCH" explanation: "claim sub" }
}
cases {
  name: "route"
  procedure: "GET /orders/{id}"
  path: "/orders/alice"
  token { claims: '{"sub": "bob"}' }
  expect { reason: "CLAIM_MISMATCH" }
}
`

// wrongCases expect outcomes the rules do not have.
const wrongCases = `
cases {
  name: "says allowed"
  procedure: "/protojwt.test.v1.GuardedService/FieldTop"
  token { claims: '{"sub": "bob"}' }
  request: '{"username": "alice"}'
  expect { allowed: true }
}
cases {
  name: "says scope"
  procedure: "/protojwt.test.v1.GuardedService/Scopes"
  token { claims: '{"scope": "read write"}' }
  expect { reason: "SCOPE_MISSING" }
}
`

func TestTestCommand(t *testing.T) {
	set := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	good := writeFile(t, "good.textpb", []byte(guardedCases))
	wrong := writeFile(t, "wrong.textpb", []byte(wrongCases))
	bad := writeFile(t, "bad.textpb", []byte(`cases {`))
	ruleSet := writeFile(t, "rules.textpb", []byte(`methods { key: "/protojwt.test.v1.GuardedService/Undeclared" value { scopes: "x" dry_run: true } }`))
	ruleSetCases := writeFile(t, "set.textpb", []byte(`cases { procedure: "/protojwt.test.v1.GuardedService/Undeclared" token { claims: '{"scope":"y"}' } expect { reason: "SCOPE_MISSING" } }`))
	badRuleSet := writeFile(t, "badrules.textpb", []byte(`methods { key: "Undeclared" value {} }`))
	tests := []struct {
		name    string
		args    []string
		code    int
		stdout  []string
		stderr  []string
		without []string // texts stdout must not hold
	}{
		{"all pass", []string{"test", "--descriptor-set", set, good}, exitOK, []string{"3 passed, 0 failed\n"}, nil, []string{"FAIL"}},
		{"verbose", []string{"test", "-v", "--descriptor-set", set, good}, exitOK, []string{`ok   ` + good + `: "own" /protojwt.test.v1.GuardedService/FieldTop`, "3 passed, 0 failed"}, nil, nil},
		{"failures", []string{"test", "--descriptor-set", set, good, wrong}, exitFailure, []string{
			`FAIL ` + wrong + `: "says allowed" /protojwt.test.v1.GuardedService/FieldTop: want allowed, got CLAIM_MISMATCH (claim mismatch: claim sub: equals field:username: not equal)`,
			`FAIL ` + wrong + `: "says scope" /protojwt.test.v1.GuardedService/Scopes: want SCOPE_MISSING, got allowed`,
			"3 passed, 2 failed\n",
		}, nil, []string{"bob"}},
		{"unreadable file", []string{"test", "--descriptor-set", set, bad}, exitFailure, []string{"FAIL " + bad + " is not a protojwt.v1.PolicyTest", "0 passed, 1 failed"}, nil, nil},
		{"missing file", []string{"test", "/nonexistent/cases.textpb"}, exitFailure, []string{"0 passed, 1 failed"}, nil, nil},
		{"no file", []string{"test"}, exitUsage, nil, []string{"want at least one case file"}, nil},
		{"bad descriptor set", []string{"test", "--descriptor-set", good, good}, exitFailure, nil, []string{"is not a FileDescriptorSet"}, nil},
		{"rule set, dry run", []string{"test", "--descriptor-set", set, "--rule-set", ruleSet, ruleSetCases}, exitOK, []string{"1 passed, 0 failed"}, nil, nil},
		{"without the rule set", []string{"test", "--descriptor-set", set, ruleSetCases}, exitFailure, []string{"want SCOPE_MISSING, got METHOD_NOT_DECLARED", "0 passed, 1 failed"}, nil, nil},
		{"bad rule set", []string{"test", "--descriptor-set", set, "--rule-set", badRuleSet, ruleSetCases}, exitFailure, nil, []string{"Undeclared"}, nil},
		{"help", []string{"test", "--help"}, exitOK, []string{"Usage: protojwt test"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cmd{}.run(t, tt.args...)
			checkResult(t, r, tt.code, tt.stdout, tt.stderr)
			for _, w := range tt.without {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout holds %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

func TestExplainCommand(t *testing.T) {
	set := writeFile(t, "api.binpb", marshalSet(t, testpbSet(true)))
	ruleSet := writeFile(t, "rules.textpb", []byte(`methods { key: "/protojwt.test.v1.GuardedService/Undeclared" value { scopes: "x" dry_run: true } }`))
	cases := writeFile(t, "cases.textpb", []byte(guardedCases))
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"denied, values shown", []string{"explain", "--descriptor-set", set, "--claims", `{"sub":"bob"}`, "--request", `{"username":"alice"}`, "/protojwt.test.v1.GuardedService/FieldTop"}, exitOK, []string{
			"/protojwt.test.v1.GuardedService/FieldTop\n",
			"  ok    token [sent and verified]\n",
			`  ok    token type auth [type "auth"]`,
			`  FAIL  claim sub: equals field:username: not equal [claim "bob", request "alice"]  <- decides`,
			"DENIED CLAIM_MISMATCH: claim mismatch: claim sub: equals field:username: not equal\n",
		}, nil},
		{"allowed", []string{"explain", "--descriptor-set", set, "--claims", `{"sub":"alice"}`, "--request", `{"username":"alice"}`, "/protojwt.test.v1.GuardedService/FieldTop"}, exitOK, []string{
			`  ok    claim sub: equals field:username [claim "alice", request "alice"]`, "ALLOWED\n",
		}, nil},
		{"any_of", []string{"explain", "--descriptor-set", set, "--claims", `{"sub":"bob","role":"user"}`, "--request", `{"owner":"alice"}`, "/protojwt.test.v1.GuardedService/AnyOf"}, exitOK, []string{
			"  FAIL  any_of: no alternative rule holds [0 of 2 alternatives hold]  <- decides",
			"    FAIL  any_of[0]",
			`      FAIL  claim role: equals "admin": not equal [claim "user"]`,
			`      FAIL  claim sub: equals field:owner: not equal [claim "bob", request "alice"]`,
			"DENIED NO_ALTERNATIVE",
		}, nil},
		{"refresh token", []string{"explain", "--descriptor-set", set, "--claims", `{}`, "--type", "refresh", "/protojwt.test.v1.GuardedService/Scopes"}, exitOK, []string{
			`  FAIL  token type auth: want auth, got refresh [type "refresh"]  <- decides`, "DENIED TOKEN_TYPE",
		}, nil},
		{"no token", []string{"explain", "--descriptor-set", set, "/protojwt.test.v1.GuardedService/Scopes"}, exitOK, []string{
			"  FAIL  token: none sent  <- decides", "DENIED TOKEN_MISSING",
		}, nil},
		{"undeclared", []string{"explain", "--descriptor-set", set, "--claims", `{}`, "/protojwt.test.v1.GuardedService/Undeclared"}, exitOK, []string{
			"  FAIL  rule: none declared", "DENIED METHOD_NOT_DECLARED",
		}, nil},
		{"case of a file", []string{"explain", "--descriptor-set", set, "--cases", cases, "--case", "route"}, exitOK, []string{
			"GET /orders/{id}\n", `  FAIL  claim sub: equals field:id: not equal [claim "bob", request "alice"]  <- decides`,
		}, nil},
		{"route from flags", []string{"explain", "--cases", cases, "--claims", `{"sub":"alice"}`, "--path", "/orders/alice", "GET /orders/{id}"}, exitOK, []string{"ALLOWED"}, nil},
		{"rule set, dry run", []string{"explain", "--descriptor-set", set, "--rule-set", ruleSet, "--claims", `{"scope":"y"}`, "/protojwt.test.v1.GuardedService/Undeclared"}, exitOK, []string{
			"  FAIL  scope x: not granted [granted \"y\"]  <- decides",
			"ALLOWED (dry run), enforcing would deny: DENIED SCOPE_MISSING: insufficient scope: scope x: not granted",
		}, nil},
		{"unknown case", []string{"explain", "--cases", cases, "--case", "nope"}, exitFailure, nil, []string{`no case named "nope"`}},
		{"case and flags", []string{"explain", "--cases", cases, "--case", "own", "--claims", "{}"}, exitUsage, nil, []string{"--case takes the whole case"}},
		{"claims and token", []string{"explain", "--claims", "{}", "--token", "a.b.c", "/a.B/C"}, exitUsage, nil, []string{"exclusive"}},
		{"bad type", []string{"explain", "--claims", "{}", "--type", "id", "/a.B/C"}, exitUsage, nil, []string{`--type "id"`}},
		{"no procedure", []string{"explain", "--claims", "{}"}, exitUsage, nil, []string{"want one PROCEDURE"}},
		{"unknown method", []string{"explain", "--descriptor-set", set, "/protojwt.test.v1.GuardedService/Nope"}, exitFailure, nil, []string{"has no method Nope"}},
		{"bad request", []string{"explain", "--descriptor-set", set, "--request", "{", "/protojwt.test.v1.GuardedService/FieldTop"}, exitFailure, nil, []string{"request is not protojson"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkResult(t, cmd{}.run(t, tt.args...), tt.code, tt.stdout, tt.stderr)
		})
	}
}
