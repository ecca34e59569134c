// Package celexpr evaluates the expr of protojwt rules with CEL (the Common
// Expression Language), for decisions that are not a list of claim tests:
// "the owner, or an admin", "request.amount at most the token's limit".
//
//	rpc GetDocument(GetDocumentRequest) returns (GetDocumentResponse) {
//	  option (protojwt.v1.rule) = {expr: "'admin' in claims.roles || request.owner == claims.sub"};
//	}
//
//	auth, err := interceptor.New(m, interceptor.WithExpressions(celexpr.New()))
//	// err names every method whose expr does not parse, is not a bool, or
//	// reads a field its request message does not have.
//
//	guard := httpauth.New(m, httpauth.WithExpressions(celexpr.New()))
//	mux.Handle("GET /users/{owner}/docs", guard.Require(httpauth.FromRule(
//		&annotations.Rule{Expr: "path.owner == claims.sub"}))(h))
//
// # Variables
//
// An expression sees:
//
//   - claims, a map<string, dyn>: every claim of the verified token, decoded
//     JSON. Strings, booleans, null, lists and maps are CEL's; a number is a
//     double, as in CEL's JSON (google.protobuf.Value), except an integer
//     above 2^53, which the token's decoding keeps exact: it is an int (a
//     uint above int64's range), so claims.account == 1234567890123456789
//     holds only for that integer. Reading a claim the token lacks is an
//     error: test it first with has(claims.name) or 'name' in claims.
//   - request (gRPC and connect), the request message with its own type:
//     request.amount is checked against the message when the adapter is
//     built, and request.from.account_id reads a nested message.
//   - path (net/http), the route's path wildcards, a map<string, string>.
//
// request is not declared for HTTP routes, nor path for RPCs: naming one is
// a compile error that says which variables there are.
//
// # Decisions
//
// The expression runs after the rule's declarative parts (claims, check,
// scope, scopes), and only when they hold. It must be a bool: true lets the
// call go on, false denies it (protojwt.ReasonExpressionFalse), and an
// error denies it too (protojwt.ReasonExpressionError): a missing claim, a
// value of the wrong type, a division by zero, or the cost limit reached.
// Both are PermissionDenied in gRPC and connect, 403 in HTTP. CEL's || and
// && skip an error when the other side decides, so
// "'admin' in claims.roles || request.owner == claims.sub" lets the owner
// through even when the token has no roles claim.
//
// On a stream, an expression that reads request is evaluated on every
// message the client sends, as a claim bound to a request field is; one
// that reads only claims decides once, when the stream opens.
//
// # Bounds
//
// An expression that loops (a comprehension: all, exists, exists_one, map,
// filter) or matches a regular expression read from the request stops at a
// cost limit (WithCostLimit, by default DefaultCostLimit) and denies: a
// client can't make it run for long by filling a repeated field. Other
// expressions run in time linear in the claims and the request, which the
// server has already read, and skip the cost tracking. Each evaluation has
// its own state: an Engine and its expressions are safe for concurrent use.
//
// # Module
//
// celexpr is a module of its own, github.com/protojwt/protojwt/celexpr, so
// that programs without expressions don't link cel-go. An adapter given a
// rule with an expr and no WithExpressions refuses to start and says what
// to add. Its command, github.com/protojwt/protojwt/celexpr/cmd/protojwt,
// is the protojwt command built with CEL: its "rules --strict" compiles
// every expr of an API's descriptor set as an adapter would, for CI.
package celexpr
