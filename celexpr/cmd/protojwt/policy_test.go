package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/celexpr/internal/testpb"
	"github.com/protojwt/protojwt/cli"
)

// run runs the command line args with CEL, as this command does.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = cli.Run(args, strings.NewReader(""), &out, &errs, func(string) string { return "" }, celexpr.New())
	return code, out.String(), errs.String()
}

// TestPolicyCasesWithCEL: this build's test and explain compile the expr
// of rules, as a server given WithExpressions(celexpr.New()) does; the
// build without CEL reports such rules invalid.
func TestPolicyCasesWithCEL(t *testing.T) {
	set := writeSet(t, testpb.File_protojwt_celexpr_test_v1_test_proto)
	cases := writeFile(t, "cases.textpb", `
cases { name: "owner" procedure: "/protojwt.celexpr.test.v1.DocumentService/GetDocument" token { claims: '{"sub":"alice","roles":[]}' } request: '{"owner":"alice"}' expect { allowed: true } }
cases { name: "admin" procedure: "/protojwt.celexpr.test.v1.DocumentService/GetDocument" token { claims: '{"sub":"bob","roles":["admin"]}' } request: '{"owner":"alice"}' expect { allowed: true } }
cases { name: "other" procedure: "/protojwt.celexpr.test.v1.DocumentService/GetDocument" token { claims: '{"sub":"bob","roles":[]}' } request: '{"owner":"alice"}' expect { reason: "EXPRESSION_FALSE" } }
`)
	code, stdout, stderr := run(t, "test", "--descriptor-set", set, cases)
	if code != 0 || !strings.Contains(stdout, "3 passed, 0 failed") {
		t.Errorf("test: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = run(t, "explain", "--descriptor-set", set, "--claims", `{"sub":"bob","roles":[]}`, "--request", `{"owner":"alice"}`, "/protojwt.celexpr.test.v1.DocumentService/GetDocument")
	if want := "  FAIL  expr 'admin' in claims.roles || request.owner == claims.sub: false  <- decides"; code != 0 || !strings.Contains(stdout, want) {
		t.Errorf("explain: exit %d, want %q in\n%s%s", code, want, stdout, stderr)
	}
	var out, errs bytes.Buffer
	code = cli.Run([]string{"test", "--descriptor-set", set, cases}, strings.NewReader(""), &out, &errs, nil, nil)
	if code != 1 || !strings.Contains(out.String(), "this build of protojwt has no CEL") {
		t.Errorf("without CEL: exit %d\n%s", code, out.String())
	}
}

// writeFile writes text to name in a new temporary directory.
func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
