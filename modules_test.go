package protojwt_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoModuleImportsAnothersInternal reads the imports of every Go file
// of the repository's modules: none names a package under another module's
// internal/, which a user of the published modules could not build (Go
// refuses it outside the module). Each module shares through exported
// packages, as celexpr/cmd/protojwt uses package cli.
func TestNoModuleImportsAnothersInternal(t *testing.T) {
	modules := map[string]string{} // directory -> module path
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.Name() == "go.mod" {
			modules[filepath.Dir(path)] = modulePath(t, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if modules["."] != "github.com/protojwt/protojwt" || len(modules) < 3 {
		t.Fatalf("modules found: %v", modules)
	}
	// moduleOf returns the module that holds a directory or an import
	// path: the one of the longest prefix.
	moduleOf := func(path string, byPath bool) string {
		best, bestLen := "", -1
		for dir, mod := range modules {
			prefix := dir
			if byPath {
				prefix = mod
			}
			if (path == prefix || strings.HasPrefix(path, prefix+"/") || prefix == ".") && len(prefix) > bestLen {
				best, bestLen = mod, len(prefix)
			}
		}
		return best
	}
	files := 0
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		own := moduleOf(filepath.ToSlash(filepath.Dir(path)), false)
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, "github.com/protojwt/protojwt") {
				continue
			}
			internal := strings.Contains(p+"/", "/internal/")
			if other := moduleOf(p, true); internal && other != own {
				t.Errorf("%s (module %s) imports %s, internal to module %s", path, own, p, other)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("read %d Go files", files)
	}
}

// modulePath returns the module path a go.mod declares.
func modulePath(t *testing.T, gomod string) string {
	t.Helper()
	f, err := os.Open(gomod)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	t.Fatalf("%s declares no module", gomod)
	return ""
}
