package main

// The two steps that bring protojwt's options to this module's own API:
// write protojwt/v1/annotations.proto (embedded in the protojwt command at
// the version of github.com/protojwt/protojwt in go.mod) under third_party/,
// then generate this module's code alone (buf.gen.yaml: inputs proto/).
// buf comes from the protojwt repository's tools/go.mod here; a module of
// your own runs its own buf.
//
// Then the audit a CI runs on every change: build the descriptor set of
// this workspace (buf.yaml: greeter's API and the options it imports) and
// have the protojwt command list every method's rule. The tool in go.mod
// is the command built with CEL (github.com/protojwt/protojwt/celexpr/cmd/protojwt),
// so --strict also compiles each expr against its method's request, as
// interceptor.WithExpressions(celexpr.New()) does when the server starts,
// and a misspelled field fails here rather than at start. Last, the policy
// cases of testdata/greeter.textpb run against the same descriptor set
// (rules_test.go runs them from go test too). greeter.binpb is only the
// input of these checks: ignored, never committed.

//go:generate go tool protojwt proto export third_party
//go:generate go tool -modfile=../../tools/go.mod buf lint
//go:generate go tool -modfile=../../tools/go.mod buf generate
//go:generate go tool -modfile=../../tools/go.mod buf build -o greeter.binpb
//go:generate go tool protojwt rules --strict greeter.binpb
//go:generate go tool protojwt test --descriptor-set greeter.binpb testdata/greeter.textpb
