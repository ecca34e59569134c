// Command protojwt is the protojwt command built with CEL: the same
// commands and flags as github.com/protojwt/protojwt/cmd/protojwt, whose
// rules command also compiles the expr of every rule with celexpr.New(),
// against the method's request message, as a server given
// WithExpressions(celexpr.New()) does when it starts. It is the build to
// audit an API whose rules hold expressions:
//
//	buf build -o api.binpb
//	go run github.com/protojwt/protojwt/celexpr/cmd/protojwt rules --strict api.binpb
//
// An expression that does not parse, is not a bool, or names a field the
// request does not have is reported on its method's row with CEL's
// message, and --strict exits 1. A server built with celexpr.New and
// options (WithEnvOptions, WithCostLimit) may accept expressions this
// build refuses; it compiles with the defaults. Such a server's own
// command is this main with its options: os.Exit(cli.Main(celexpr.New(opts...))),
// with package github.com/protojwt/protojwt/cli.
package main

import (
	"os"

	"github.com/protojwt/protojwt/celexpr"
	"github.com/protojwt/protojwt/cli"
)

func main() {
	os.Exit(cli.Main(celexpr.New()))
}
