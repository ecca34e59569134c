// Package interceptor enforces the rules declared as protojwt options in
// .proto files on gRPC servers: unary and stream server interceptors built
// once from every service a resolver knows.
//
//	m, err := manager.New(cfg)
//	auth, err := interceptor.New(m, // compiles the rule of every method now
//		interceptor.WithPublicServices("grpc.health.v1.Health"))
//	s := grpc.NewServer(
//		grpc.UnaryInterceptor(auth.Unary()),
//		grpc.StreamInterceptor(auth.Stream()))
//	// in a handler: the verified token of the caller
//	tok, ok := manager.FromContext(ctx)
//
// New reads each method's (protojwt.v1.rule) option, or else its service's
// (protojwt.v1.default_rule), and compiles it with the request fields its
// claims name; a bad rule or field path is an error from New, not a failure
// at request time. A method with no rule is denied unless an option opens
// it: the interceptors fail closed. Per call they do one map lookup, read
// the "authorization: Bearer <jwt>" metadata, verify the token and check the
// rule. Denials are status errors with codes.Unauthenticated or
// codes.PermissionDenied and a google.rpc.ErrorInfo detail (domain
// "protojwt") whose reason says why, such as TOKEN_EXPIRED or
// CLAIM_MISMATCH.
//
// # Request fields
//
// A claim bound to a request field, { field: "user.id" }, compares the claim
// with the field's value: a string as a string, integers and floating-point
// numbers as numbers (by value, as float64, the form of JSON numbers in
// claims), a bool as a bool and an enum as the name of its value
// ("ROLE_EDITOR"). A field that is not set never matches: in proto3, a field
// without explicit presence (no `optional`) is not set when it holds its
// zero value, so "" never equals a claim, nor does 0, false or an enum's
// zero value; a message on the path that is not set makes the field absent
// too. Defaults declared in proto2 or editions are not used.
//
// In a stream, the token and the rule are checked when the stream opens,
// except for claims bound to request fields, which are checked against every
// message the handler receives. A message that does not match is not given
// to the handler: RecvMsg returns a PermissionDenied status error, then and
// on every later call, and the handler that returns it ends the stream.
package interceptor
