// Package protofiles holds protojwt's .proto files, embedded in the Go
// module, so that a program (the protojwt command's "proto export") can
// write them where a user's buf workspace or protoc include path finds
// them, offline and at exactly the version of the module in use.
//
//	data, err := fs.ReadFile(protofiles.FS(), protofiles.Annotations)
//
// The Go code generated from them is package
// github.com/protojwt/protojwt/annotations; a user module imports the
// options from there and does not generate them again.
package protofiles

import (
	"embed"
	"io/fs"
)

// Annotations is the import path of the options' file, the path to write it
// at under an include directory and its name in FS.
const Annotations = "protojwt/v1/annotations.proto"

//go:embed protojwt/v1/*.proto
var files embed.FS

// FS returns the .proto files of protojwt by their import paths, such as
// Annotations. It is read-only.
func FS() fs.FS { return files }
