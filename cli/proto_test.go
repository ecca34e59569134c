package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// annotationsFile is the path proto export writes under its directory.
var annotationsFile = filepath.Join("protojwt", "v1", "annotations.proto")

func TestProtoExportWritesTheRepositoryFile(t *testing.T) {
	want := readFileT(t, filepath.Join("..", "proto", annotationsFile))
	dir := filepath.Join(t.TempDir(), "third_party")
	r := cmd{}.run(t, "proto", "export", dir)
	checkResult(t, r, exitOK, nil, []string{"wrote " + filepath.Join(dir, annotationsFile)})
	if got := readFileT(t, filepath.Join(dir, annotationsFile)); !bytes.Equal(got, want) {
		t.Error("exported annotations.proto differs from proto/protojwt/v1/annotations.proto")
	}
	checkMode(t, filepath.Join(dir, annotationsFile), 0o644)

	// Again over a stale copy: replaced, as after an upgrade.
	if err := os.WriteFile(filepath.Join(dir, annotationsFile), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	checkResult(t, cmd{}.run(t, "proto", "export", dir), exitOK, nil, nil)
	if got := readFileT(t, filepath.Join(dir, annotationsFile)); !bytes.Equal(got, want) {
		t.Error("a second export did not replace the stale file")
	}
	checkResult(t, cmd{}.run(t, "proto", "export", "--check", dir), exitOK, nil, nil)
}

func TestProtoExportDefaultsToTheWorkingDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	checkResult(t, cmd{}.run(t, "proto", "export"), exitOK, nil, []string{"wrote " + annotationsFile})
	if _, err := os.Stat(annotationsFile); err != nil {
		t.Fatal(err)
	}
}

func TestProtoExportCheckFails(t *testing.T) {
	dir := t.TempDir()
	r := cmd{}.run(t, "proto", "export", "--check", dir)
	checkResult(t, r, exitFailure, nil, []string{annotationsFile + ": missing", "run 'protojwt proto export " + dir + "'"})
	if _, err := os.Stat(filepath.Join(dir, "protojwt")); err == nil {
		t.Error("--check wrote files")
	}

	checkResult(t, cmd{}.run(t, "proto", "export", dir), exitOK, nil, nil)
	path := filepath.Join(dir, annotationsFile)
	data := readFileT(t, path)
	if err := os.WriteFile(path, append(data, "// edited\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	r = cmd{}.run(t, "proto", "export", dir, "--check")
	checkResult(t, r, exitFailure, nil, []string{"differs from this version of protojwt"})
}

func TestProtoUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"proto"}, "want a subcommand: export"},
		{[]string{"proto", "import"}, `unknown subcommand "import"`},
		{[]string{"proto", "export", "a", "b"}, `unexpected argument "b"`},
		{[]string{"proto", "export", ""}, "empty directory"},
		{[]string{"proto", "export", "--force"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		r := cmd{}.run(t, tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tt.args, r.code, r.stderr, exitUsage, tt.want)
		}
	}
}

func TestProtoExportIntoAFile(t *testing.T) {
	file := writeFile(t, "not-a-dir", []byte("x"))
	r := cmd{}.run(t, "proto", "export", file)
	if r.code != exitFailure {
		t.Errorf("export under a regular file: exit %d, want %d (stderr %q)", r.code, exitFailure, r.stderr)
	}
}

func TestProtoHelp(t *testing.T) {
	for _, args := range [][]string{{"proto", "--help"}, {"proto", "export", "--help"}, {"help", "proto"}} {
		r := cmd{}.run(t, args...)
		checkResult(t, r, exitOK, []string{"protojwt proto export"}, nil)
	}
	r := cmd{}.run(t, "--help")
	checkResult(t, r, exitOK, []string{"proto export"}, nil)
}
