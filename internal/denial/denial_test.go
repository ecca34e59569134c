package denial_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/grpc/codes"

	"github.com/protojwt/protojwt/internal/denial"
)

// reasonConstants returns the value of every Reason* constant that package
// protojwt declares, read from its source, so that a reason added there
// without a row here fails TestEveryReasonHasAnAnswer.
func reasonConstants(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../../*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := make(map[string]string)
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for j, name := range vs.Names {
					if !strings.HasPrefix(name.Name, "Reason") || j >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[j].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s is not a string literal", name.Name)
					}
					consts[name.Name], _ = strconv.Unquote(lit.Value)
				}
			}
		}
	}
	if len(consts) < 13 {
		t.Fatalf("found %d Reason constants in package protojwt: %v", len(consts), consts)
	}
	return consts
}

func TestEveryReasonHasAnAnswer(t *testing.T) {
	consts := reasonConstants(t)
	values := make(map[string]bool)
	for name, reason := range consts {
		values[reason] = true
		if !denial.Known(reason) {
			t.Errorf("protojwt.%s (%q) has no row in the denial table", name, reason)
		}
	}
	for reason := range denial.All() {
		if !values[reason] {
			t.Errorf("the denial table answers %q, which no protojwt.Reason* constant names", reason)
		}
	}
}

// TestAnswers: every row is complete, its code the one of grpc-go and
// connect-go, and its HTTP status the one that the code means.
func TestAnswers(t *testing.T) {
	grpcCodes := map[denial.Code]codes.Code{
		denial.Unauthenticated:  codes.Unauthenticated,
		denial.PermissionDenied: codes.PermissionDenied,
		denial.Unavailable:      codes.Unavailable,
	}
	connectCodes := map[denial.Code]connect.Code{
		denial.Unauthenticated:  connect.CodeUnauthenticated,
		denial.PermissionDenied: connect.CodePermissionDenied,
		denial.Unavailable:      connect.CodeUnavailable,
	}
	for code, want := range grpcCodes {
		if codes.Code(code) != want || connect.Code(code) != connectCodes[code] {
			t.Errorf("code %d is not gRPC %v and connect %v", code, want, connectCodes[code])
		}
	}
	for reason, a := range denial.All() {
		if _, ok := grpcCodes[a.Code]; !ok {
			t.Errorf("%s: code %d is not a denial code", reason, a.Code)
		}
		if a.Text == "" || http.StatusText(a.Status) == "" || a.Status < 400 {
			t.Errorf("%s: %+v lacks a text or an HTTP error status", reason, a)
		}
		if denial.Of(reason) != a {
			t.Errorf("Of(%s) = %+v, want %+v", reason, denial.Of(reason), a)
		}
	}
	if a := denial.Of("NO_SUCH_REASON"); a.Code != denial.Unauthenticated || a.Status != http.StatusUnauthorized || a.Text == "" {
		t.Errorf("Of(unknown) = %+v", a)
	}
	all := denial.All()
	delete(all, "TOKEN_MISSING")
	if !denial.Known("TOKEN_MISSING") {
		t.Error("All returns the table itself")
	}
}
