package manager

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageLayout checks how the package is arranged: no context kept
// in a struct (a context belongs to a call: Open's bounds its first fetch
// only), no init function reaching across packages (the rule engine
// finds a Token's view through tokenview.Slot), and no file over 400
// lines, each holding one part.
func TestPackageLayout(t *testing.T) {
	for _, dir := range []string{".", "../internal/tokenview"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			checked++
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(src), "\n"); n > 400 {
				t.Errorf("%s has %d lines, over 400: split it by concept", path, n)
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.FuncDecl:
					if n.Recv == nil && n.Name.Name == "init" {
						t.Errorf("%s has an init function", path)
					}
				case *ast.StructType:
					for _, field := range n.Fields.List {
						if sel, ok := field.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Context" {
							if id, ok := sel.X.(*ast.Ident); ok && id.Name == "context" {
								t.Errorf("%s keeps a context.Context in a struct", path)
							}
						}
					}
				}
				return true
			})
		}
		if checked == 0 {
			t.Fatalf("no source file in %s", dir)
		}
	}
}
