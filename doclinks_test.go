package protojwt_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// docLink matches what go doc renders as a link: [Name], [Name.Member],
// [pkg.Name] and [pkg.Name.Member], not followed by ":" (a link
// definition) or "(" (Markdown).
// majorVersion is the last element of a module path of major version 2 or
// more, which is not the package's name.
var majorVersion = regexp.MustCompile(`^v\d+$`)

var docLink = regexp.MustCompile(`\[(\*?[A-Za-z_]\w*(?:\.[A-Za-z_]\w*){0,2})\]([^:(]|$)`)

// TestDocLinks reads the doc comments of every package of every module in
// the repository and fails on a doc link that names nothing: a [Name] of no
// declaration of its package, or a [pkg.Name] of no exported name of the
// package the file imports as pkg. go doc shows such a link as plain
// brackets, so a renamed identifier would leave its docs pointing nowhere.
func TestDocLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("type-checks every import: not in -short")
	}
	imp := exportImporter(t)
	stdlib := stdlibByName(t)
	imported := map[string]*types.Package{}
	lookup := func(path string) *types.Package {
		if p, ok := imported[path]; ok {
			return p
		}
		p, err := imp.Import(path)
		if err != nil {
			p = nil // a package that can't be loaded here is not checked
		}
		imported[path] = p
		return p
	}

	dirs := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && !strings.HasSuffix(path, ".pb.go") {
			dirs[filepath.Dir(path)] = append(dirs[filepath.Dir(path)], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, files := range dirs {
		fset := token.NewFileSet()
		var parsed []*ast.File
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			af, err := parser.ParseFile(fset, f, src, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			parsed = append(parsed, af)
		}
		local := declared(parsed)
		// Like go doc, a [pkg.Name] link finds pkg among the imports of
		// every file of the package.
		imports := map[string]string{}
		for _, af := range parsed {
			for _, is := range af.Imports {
				path, _ := strconv.Unquote(is.Path.Value)
				name := path[strings.LastIndex(path, "/")+1:]
				if is.Name != nil {
					name = is.Name.Name
				} else if majorVersion.MatchString(name) {
					parts := strings.Split(path, "/")
					name = parts[len(parts)-2]
				}
				imports[name] = path
			}
		}
		for _, af := range parsed {
			for _, cg := range af.Comments {
				for _, m := range docLink.FindAllStringSubmatch(cg.Text(), -1) {
					checked++
					link := strings.TrimPrefix(m[1], "*")
					if !resolves(link, local, imports, stdlib, lookup) {
						t.Errorf("%s: doc link [%s] names nothing", fset.Position(cg.Pos()), m[1])
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no doc link found: the pattern is wrong")
	}
}

// exportImporter returns an importer of the compiled export data of every
// package the module's packages import, as go list -export finds it in the
// build cache: quicker than type-checking their sources.
func exportImporter(t *testing.T) types.Importer {
	out, err := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}={{.Export}}", "./...").Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if path, file, ok := strings.Cut(line, "="); ok && file != "" {
			exports[path] = file
		}
	}
	return importer.ForCompiler(token.NewFileSet(), "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(file)
	})
}

// stdlibByName returns the standard library's packages by name, for the
// names that only one has: go doc links [pkg.Name] to such a package even
// where no file imports it.
func stdlibByName(t *testing.T) map[string]string {
	out, err := exec.Command("go", "list", "std").Output()
	if err != nil {
		t.Fatalf("go list std: %v", err)
	}
	byName, seen := map[string]string{}, map[string]int{}
	for _, path := range strings.Fields(string(out)) {
		if strings.Contains(path, "internal") || strings.HasPrefix(path, "vendor/") {
			continue
		}
		name := path[strings.LastIndex(path, "/")+1:]
		seen[name]++
		byName[name] = path
	}
	for name, n := range seen {
		if n > 1 {
			delete(byName, name)
		}
	}
	return byName
}

// declared returns the names a package declares: its top-level names, and
// Type.Member for the methods and struct fields of its types.
func declared(files []*ast.File) map[string]bool {
	names := map[string]bool{}
	for _, f := range files {
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					names[d.Name.Name] = true
					continue
				}
				recv := d.Recv.List[0].Type
				for {
					switch r := recv.(type) {
					case *ast.StarExpr:
						recv = r.X
						continue
					case *ast.IndexExpr:
						recv = r.X
						continue
					case *ast.IndexListExpr:
						recv = r.X
						continue
					}
					break
				}
				if id, ok := recv.(*ast.Ident); ok {
					names[id.Name+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						names[s.Name.Name] = true
						switch tt := s.Type.(type) {
						case *ast.StructType:
							for _, fl := range tt.Fields.List {
								for _, n := range fl.Names {
									names[s.Name.Name+"."+n.Name] = true
								}
							}
						case *ast.InterfaceType:
							for _, fl := range tt.Methods.List {
								for _, n := range fl.Names {
									names[s.Name.Name+"."+n.Name] = true
								}
							}
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							names[n.Name] = true
						}
					}
				}
			}
		}
	}
	return names
}

// resolves reports whether link names a declaration of the package (local)
// or an exported name of a package the file imports.
func resolves(link string, local map[string]bool, imports, stdlib map[string]string, lookup func(string) *types.Package) bool {
	if local[link] {
		return true
	}
	parts := strings.Split(link, ".")
	if len(parts) == 1 {
		// A lone word: a builtin ([error], [any]) or plain text in brackets
		// that go doc leaves alone unless it is declared.
		return types.Universe.Lookup(link) != nil || !ast.IsExported(link) || !looksLikeIdentifier(link)
	}
	path, ok := imports[parts[0]]
	if !ok && stdlib[parts[0]] != "" {
		path, ok = stdlib[parts[0]], true
	}
	if !ok {
		// Not a package of the file: a local Type.Member that does not
		// exist, or prose.
		return !ast.IsExported(parts[0]) && !local[parts[0]]
	}
	p := lookup(path)
	if p == nil {
		return true
	}
	obj := p.Scope().Lookup(parts[1])
	if obj == nil || !obj.Exported() {
		return false
	}
	if len(parts) == 2 {
		return true
	}
	found, _, _ := types.LookupFieldOrMethod(obj.Type(), true, p, parts[2])
	return found != nil
}

// looksLikeIdentifier reports whether a bracketed word could be meant as a
// Go name: it has an upper-case letter after its first, or its first is
// upper case and it is not an all-caps abbreviation.
func looksLikeIdentifier(s string) bool {
	return s != strings.ToUpper(s)
}
