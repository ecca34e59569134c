// Package exchangetest tests tokensource.Exchange against a real OAuth 2.0
// Token Exchange (RFC 8693) implementation: an OpenID Provider built with
// github.com/zitadel/oidc/v3/pkg/op, started on loopback by the tests. It
// is a module of its own so that the library does not depend on zitadel's.
// It holds tests only.
package exchangetest
