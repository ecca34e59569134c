// Package rules is protojwt's one rule engine: what a call needs, compiled
// once, and the one function that decides allow or deny for every adapter.
// It is pure policy: adapters find the token, verify it with a
// [manager.Verifier], supply the request variables, and ask Check.
//
//	r, err := rules.FromProtoEnv(ruleFromOption, env)
//	// at start-up: r.Vars() names the request variables; prepare accessors
//	var tok *manager.Token // nil when the call sent no token
//	if raw != "" { tok, err = verifier.Verify(ctx, raw) }
//	err = r.Check(tok, vars)
//	// err wraps a manager sentinel; Classify(err) gives the denial and reason
package rules
