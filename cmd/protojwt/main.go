// Command protojwt mints and inspects protojwt tokens, audits the rules a
// service declares in its .proto files, generates signing keys, and writes
// protojwt's own .proto files where a user's buf or protoc finds them.
//
//	export JWT_ISSUER=my-service JWT_AUTHTYPE=HS256 JWT_SECRET_FILE=secret.txt
//	protojwt mint --sub alice --scope '{"admin":true}' --claim role=admin
//	protojwt inspect "$TOKEN"              # header, claims, times; verified when keys are set
//	protojwt inspect --issuer https://idp.example --discovery --access-token-profile "$TOKEN"
//	buf build -o api.binpb && protojwt rules --strict api.binpb
//	protojwt keys gen --alg ES256 --out-dir keys
//	protojwt proto export third_party      # protojwt/v1/annotations.proto, for buf or protoc -I
//
// mint and inspect read the same JWT_* environment as manager.ConfigFromEnv;
// their flags override it. A secret is never taken from the command line,
// where ps and shell history would show it: only from JWT_SECRET,
// JWT_SECRET_FILE or --secret-file.
//
// Exit codes: 0 success, 1 failure (a token that does not verify, a rule
// that does not compile with --strict, a file that can't be read), 2 usage
// error. Every command takes --help.
//
// This build does not link CEL: rules lists a rule's expr, and reports it
// invalid, since only a build with CEL can compile it. An API whose rules
// hold expressions is audited with the same command built with CEL:
//
//	go run github.com/protojwt/protojwt/celexpr/cmd/protojwt rules --strict api.binpb
//
// Both builds are a main that calls [cli.Main]; a service whose servers
// compile expressions with functions of their own builds its command the
// same way (see package github.com/protojwt/protojwt/cli).
package main

import (
	"os"

	"github.com/protojwt/protojwt/cli"
)

func main() {
	os.Exit(cli.Main(nil))
}
