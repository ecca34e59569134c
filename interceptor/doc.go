// Package interceptor enforces the rules declared as protojwt options in
// .proto files on gRPC servers: unary and stream server interceptors built
// once from every service a resolver knows.
//
//	m, err := manager.New(cfg)
//	auth, err := interceptor.New(m, // compiles the rule of every method now
//		interceptor.WithPublicServices("grpc.health.v1.Health"))
//	s := grpc.NewServer(auth.ServerOptions()...) // unary and stream, chained
//	// in a handler: the verified token of the caller
//	tok, ok := manager.FromContext(ctx)
//
// New reads each method's (protojwt.v1.rule) option, or else its service's
// (protojwt.v1.default_rule), and compiles it with the request fields its
// claims name; a bad rule or field path is an error from New, not a failure
// at request time. A method with no rule is denied unless an option opens
// it: the interceptors fail closed. Per call they do one map lookup, read
// the "authorization: Bearer <jwt>" metadata, verify the token and check the
// rule. Denials are status errors with [codes.Unauthenticated] or
// [codes.PermissionDenied] and a google.rpc.ErrorInfo detail (domain
// "protojwt") whose reason says why, such as TOKEN_EXPIRED or
// CLAIM_MISMATCH.
//
// # Claim checks and optional tokens
//
// A rule's check entries test claims at any depth, as identity providers
// nest them; each names the claim's path, member names taken whole:
//
//	option (protojwt.v1.rule) = {
//	  check: { claim: ["realm_access", "roles"] contains: { string_value: "orders-admin" } }
//	  check: { claim: ["https://acme.example/tenant"] equals: { field: "tenant_id" } }
//	  check: { claim: ["tier"] in: { strings: ["gold", "platinum"] } }
//	};
//
// The tests are equals, contains, in, prefix, suffix, includes and present;
// a missing or null claim, or a value of another JSON type, fails them
// (PermissionDenied, CLAIM_MISMATCH). With allow_missing, a call that sends
// no token reaches the handler, where [manager.FromContext] finds none; a
// token sent must verify and satisfy the rule. See docs/rules.md for the
// rules each identity provider's tokens need.
//
// # Request fields
//
// A claim or check bound to a request field, { field: "user.id" }, compares
// the claim with the field's value: a string as a string, numbers by exact
// value (an int64 or uint64 field equals an integer claim beyond 2^53 only
// when it is that integer, never a float64 neighbour), a bool as a bool and
// an enum as the name of its value ("ROLE_EDITOR"). A field of another kind
// (a message, bytes, a repeated or map field) is an error from New naming
// the method and the field. A field that is not set never matches: in
// proto3, a field without explicit presence (no `optional`) is not set when
// it holds its zero value, so "" never equals a claim, nor does 0, false
// or an enum's zero value; a message on the path that is not set makes the
// field absent too. Defaults declared in proto2 or editions are not used.
//
// In a stream, the token and the rule are checked when the stream opens,
// except for claims and checks bound to request fields, which are checked
// against every message the handler receives. A message that does not
// match is not given to the handler: RecvMsg returns a PermissionDenied
// status error, then and on every later call, and the handler that returns
// it ends the stream.
//
// # Services you can't annotate, and dry run
//
// [WithRuleSet] gives rules to services whose .proto carries none
// (googleapis, third-party or generated services such as
// grpc.health.v1.Health), from a rule set file read with
// [annotations.ReadRuleSet]; they are compiled and checked by New as
// annotations are. [WithDryRun], or a rule's dry_run, decides and reports
// without enforcing: a call that would be denied goes on, and the decision
// hook is told what enforcing would have done ([protojwt.Decision] DryRun).

// # Sender-constrained tokens
//
// A token bound by its cnf claim to a DPoP key must come as "DPoP <jwt>"
// with a proof in the "dpop" metadata, and one bound to a client
// certificate over a TLS connection that presented it; either is checked
// before the rule, when a call or a stream opens, and refused with
// PROOF_MISSING or PROOF_INVALID otherwise. See [WithDPoP] and
// [WithPublicURL].
package interceptor
