package main

// The two steps that bring protojwt's options to this module's own API:
// write protojwt/v1/annotations.proto (embedded in the protojwt command at
// the version of github.com/protojwt/protojwt in go.mod) under third_party/,
// then generate this module's code alone (buf.gen.yaml: inputs proto/).
// buf comes from the protojwt repository's tools/go.mod here; a module of
// your own runs its own buf.

//go:generate go tool protojwt proto export third_party
//go:generate go tool -modfile=../../tools/go.mod buf lint
//go:generate go tool -modfile=../../tools/go.mod buf generate
