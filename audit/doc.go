// Package audit writes an audit trail of protojwt's decisions with log/slog:
// one record per denied call or stream message, and optionally per allowed
// one, naming the procedure, the reason, and the subject, issuer and token
// ID of the token when it verified. Never the token itself, nor its claims.
//
//	hook := audit.Hook(slog.Default()) // options: WithAllowed, WithLevels
//	auth, err := interceptor.New(m, interceptor.WithDecisionHook(hook))
//	guard := httpauth.New(m, httpauth.WithDecisionHook(hook))
//
// A denial is written at level Warn as
//
//	level=WARN msg="protojwt: denied" procedure=/shop.v1.Orders/Cancel stage=call
//	reason=CLAIM_MISMATCH subject=alice issuer=https://idp.example
//	token_id=0f8c... error="protojwt: claim mismatch: ..." duration=41µs
//
// The hook composes with others: give each adapter several
// WithDecisionHook options, this one and otelprotojwt's.
package audit
