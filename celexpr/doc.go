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
//     JSON. A string, a boolean, null, an array and an object are CEL's
//     string, bool, null, list and map. A number that is an integer,
//     however it is written (42, 4.2e1, an id above 2^53), is an int, or a
//     uint above int64's range, and compares exactly:
//     claims.account == request.account_id holds only for that integer,
//     never for a neighbour a double would round to it, on both sides of
//     2^53 and at the int64 and uint64 edges. Any other number is a
//     double, which equals no int. An integer beyond uint64's range is an
//     evaluation error when read. Reading a claim the token lacks is an
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
// call go on, false denies it ([protojwt.ReasonExpressionFalse]), and an
// error denies it too ([protojwt.ReasonExpressionError]): a missing claim, a
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
// filter) or matches a regular expression read from the request, and every
// expression when [WithEnvOptions] is given, stops at a cost limit
// ([WithCostLimit], by default [DefaultCostLimit]) and denies: a client can't
// make it run for long by filling a repeated field. CEL compares the cost
// with the limit after each call returns, and counts most functions of its
// extensions as one unit; so matches on a pattern that is not a literal,
// and the string, encoder, regex and list functions of package
// github.com/google/cel-go/ext (replace, split, join, format, indexOf,
// lowerAscii, substring, strings.quote, base64.decode, regex.replace,
// lists.range, ...), are priced from the sizes of their arguments before
// they run: a call that would cost more than the limit is refused without
// running, and the price is counted against the limit. An evaluation thus
// spends at most about twice its limit, whatever the request. Other
// expressions run in time linear in the claims and the request, which the
// server has already read, and skip the cost tracking; their ==, != and in
// on claims, path wildcards, string fields of the request and string
// literals compare the strings where they are, without building CEL values
// (an operand that is not a string is left to CEL). Each evaluation has
// its own state: an Engine and its expressions are safe for concurrent use.
//
// # Errors
//
// An evaluation error reaches [protojwt.Decision.Err] and the logs, which
// hold no claim values: its message is CEL's when that holds only names
// and types (no such overload, a conversion between two types, an
// overflow, the cost limit, a missing key or field the expression spells:
// "no such key: tier"), and otherwise says where the expression failed,
// "timestamp() failed" or "no such key" without the key, and withholds
// CEL's message, which may quote a claim's value.
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
