package bearer

// Credential returns the token of the single authorization value in
// values, as Token does, and whether it came with the DPoP scheme (RFC
// 9449 section 7.1: "DPoP <token>", case-insensitive) rather than Bearer.
// The scheme says how the client sends the token, not what the token is:
// the adapters check a DPoP-bound token's proof whatever the scheme.
func Credential(values []string, limit int) (token string, dpop bool, err error) {
	if len(values) != 1 || !hasDPoPScheme(values[0]) {
		token, err = Token(values, limit)
		return token, false, err
	}
	v := values[0]
	const scheme = "dpop "
	switch {
	case len(v) <= len(scheme):
		return "", true, errEmpty // "DPoP" or "DPoP "
	case v[len(scheme)-1] != ' ':
		return "", true, errChars // "DPoP\t": another separator
	}
	tok := v[len(scheme):]
	if len(tok) > limit {
		return "", true, errLong
	}
	if !isB64Token(tok) {
		return "", true, errChars
	}
	return tok, true, nil
}

// hasDPoPScheme reports whether v begins with the scheme "DPoP", in any
// case, followed by no b64token byte ("DPoPx" is another scheme).
func hasDPoPScheme(v string) bool {
	return len(v) >= 4 && equalFold(v[:4], "dpop") && (len(v) == 4 || !b64token[v[4]])
}
