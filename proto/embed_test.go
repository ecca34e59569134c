package protofiles_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/protojwt/protojwt/annotations"
	protofiles "github.com/protojwt/protojwt/proto"
)

// TestAnnotationsMatchesGeneratedCode checks that the embedded file is the
// source of the annotations package: its package and go_package, and the
// same text as the repository's file.
func TestAnnotationsMatchesGeneratedCode(t *testing.T) {
	data, err := fs.ReadFile(protofiles.FS(), protofiles.Annotations)
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.FromSlash(protofiles.Annotations))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, onDisk) {
		t.Error("the embedded annotations.proto differs from the file on disk")
	}
	fd := annotations.File_protojwt_v1_annotations_proto
	if got := fd.Path(); got != protofiles.Annotations {
		t.Errorf("generated code was made from %q, want %q", got, protofiles.Annotations)
	}
	if got := fd.Package(); got != protoreflect.FullName("protojwt.v1") {
		t.Errorf("package %q", got)
	}
	for _, want := range []string{
		`package protojwt.v1;`,
		`option go_package = "github.com/protojwt/protojwt/annotations;annotations";`,
	} {
		if !bytes.Contains(data, []byte(want)) {
			t.Errorf("embedded file lacks %q", want)
		}
	}
}

// TestFSHoldsOnlyProtoFiles keeps Go sources and test data out of what
// users get written into their trees.
func TestFSHoldsOnlyProtoFiles(t *testing.T) {
	var paths []string
	err := fs.WalkDir(protofiles.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			paths = append(paths, path)
			if filepath.Ext(path) != ".proto" {
				t.Errorf("FS holds %s, not a .proto file", path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("FS is empty")
	}
}

// TestPolicyTestMatchesGeneratedCode checks that the embedded
// policytest.proto, which proto export writes beside the annotations, is
// the source of the generated messages of the case files.
func TestPolicyTestMatchesGeneratedCode(t *testing.T) {
	fd := annotations.File_protojwt_v1_policytest_proto
	data, err := fs.ReadFile(protofiles.FS(), fd.Path())
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(filepath.FromSlash(fd.Path()))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, onDisk) {
		t.Error("the embedded policytest.proto differs from the file on disk")
	}
	if fd.Package() != "protojwt.v1" || fd.Messages().ByName("PolicyTest") == nil {
		t.Errorf("package %q, PolicyTest %v", fd.Package(), fd.Messages().ByName("PolicyTest"))
	}
}
