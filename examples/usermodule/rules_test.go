package main

import (
	"testing"

	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/protojwttest"
)

// TestRules runs the policy cases of testdata/greeter.textpb against the
// rules of greeter.proto, linked into this test by greeterpb, with CEL as
// the server compiles it (newServer: WithExpressions(celexpr.New())).
func TestRules(t *testing.T) {
	protojwttest.New(protojwttest.WithExpressions(celexpr.New())).Run(t, "testdata/greeter.textpb")
}
