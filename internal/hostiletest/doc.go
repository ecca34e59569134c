// Package hostiletest is the table of hostile requests that protojwt's
// adapters must answer alike: each case builds the Authorization values of
// one request (HTTP headers, or gRPC metadata values of the authorization
// key) and names the outcome, allowed or the stable denial reason of
// internal/rules. The gRPC interceptor's tests send every case to a real
// server over bufconn, the HTTP guard's tests to an httptest server; both
// enforce Rule, with the request variable Variable set to Subject.
//
//	env := hostiletest.New(t)            // a manager, its key, a trap URL
//	for _, c := range hostiletest.Cases() {
//		values := c.Authorization(env)   // one header or metadata value each
//		// send them, with Variable = Subject; want c.Reason ("" = allowed)
//	}
//	// env.TrapHits() == 0: no URL of a token header was ever fetched
//
// TokensOf says what of the values a denial must not quote;
// OversizedSizes, OversizedToken and BytesPerCall measure what refusing a
// flood of oversized tokens costs each adapter. It is test support: only
// tests import it.
package hostiletest
