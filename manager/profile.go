package manager

import "strings"

// errNotAccessToken refuses, under [WithAccessTokenProfile], a token whose
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
