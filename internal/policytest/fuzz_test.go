package policytest_test

import (
	"os"
	"testing"

	"github.com/protojwt/protojwt/internal/policytest"
)

// FuzzCaseFile parses and runs arbitrary case files: a case file is
// input from a repository, so a bad one is an error or a failing case,
// never a panic; and every case run has a result.
func FuzzCaseFile(f *testing.F) {
	seed, err := os.ReadFile("testdata/guarded.textpb")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add(`cases { procedure: "/protojwt.test.v1.GuardedService/FieldTop" token { claims: '{"sub":1e400}' } request: '{"username":"a"}' expect { allowed: true } }`)
	f.Add(`routes { key: "GET /{a}/{b...}" value { claims { key: "sub" value { field: "b" } } } } cases { procedure: "GET /{a}/{b...}" path: "/x/y/z" token { claims: '{"sub":"y/z"}' } expect { allowed: true } }`)
	f.Add(`time: "2026-01-02T15:04:05Z" cases { procedure: "/protojwt.test.v1.GuardedService/Scopes" token { jwt: "a.eyJpc3MiOiJ4In0.c" } expect { reason: "TOKEN_INVALID" } }`)
	f.Add(`routes { key: "/{$}" value { public: true } } cases { procedure: "/{$}" expect { allowed: true } }`)
	f.Fuzz(func(t *testing.T, text string) {
		s, err := policytest.Parse(policytest.Env{}, "f", []byte(text))
		if err != nil {
			return
		}
		results := s.Run()
		for i, r := range results {
			if r.Line() == "" {
				t.Fatalf("case %d: no line", i)
			}
			if _, err := s.Explain(i); err != nil && r.Err == nil {
				t.Fatalf("case %d ran (%s), and Explain fails: %v", i, r.Line(), err)
			}
		}
	})
}
