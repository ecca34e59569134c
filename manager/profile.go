package manager

import "strings"

// WithAccessTokenProfile makes Verify accept only JWT access tokens as RFC
// 9068 types them: a "typ" header of "at+jwt" or "application/at+jwt"
// (compared without regard to case, as media types are). Any other token
// of the same issuer and keys, such as an OpenID Connect ID token or a
// logout token, is refused with ErrTokenType, after its signature is
// checked. Access tokens carry no "type" claim: they are taken as auth
// tokens, as WithUntypedTokens(Auth) does (a type claim, when present,
// still says "auth" or "refresh" and decides). Use it for a Manager of an identity provider that
// issues RFC 9068 tokens (Auth0, Okta, Keycloak and Entra ID can be set to;
// Ory, Curity and oidc-provider do). By default, the typ header is not
// read: untyped tokens are refused unless WithUntypedTokens says
// otherwise.
func WithAccessTokenProfile() Option {
	return optionFunc(func(m *Manager) {
		m.accessTokenProfile = true
		m.untyped = Auth
	})
}

// errNotAccessToken refuses, under WithAccessTokenProfile, a token whose
// typ header does not say it is an access token.
var errNotAccessToken = verifyError(`typ header is not "at+jwt": not an access token`, ErrTokenType)

// isAccessTokenType reports whether the typ header value names an RFC 9068
// access token.
func isAccessTokenType(typ any) bool {
	s, ok := typ.(string)
	if !ok {
		return false
	}
	s, _ = strings.CutPrefix(strings.ToLower(s), "application/")
	return s == "at+jwt"
}
