// Package rules is protojwt's one rule engine: what a call needs, compiled
// once, and the one function that decides allow or deny for the gRPC
// interceptor and the HTTP guard alike.
//
// A rule comes from a proto option (FromProto) or from Go code (Compile of a
// Spec). Adapters find the raw token and the request variables, then call
// Authorize:
//
//	r, err := rules.FromProto(ruleFromOption)
//	// at start-up: r.Vars() names the request variables; prepare accessors
//	tok, err := r.Authorize(ctx, m, rawToken, vars)
//	// err wraps a manager sentinel; Reason(err) and Denied(err) classify it
package rules
