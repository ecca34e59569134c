package manager

// confirmationClaim is the claim that binds a token to a key or a
// certificate (RFC 7800): the adapters refuse the token without a proof.
const confirmationClaim = "cnf"

// DPoPBinding returns the custom claims of a token bound to the DPoP key
// whose RFC 7638 thumbprint is jkt ([dpop.Signer.Thumbprint] on the client,
// [dpop.Proof] Thumbprint at a login that checked the client's proof):
// {"cnf": {"jkt": jkt}} (RFC 9449 §6). Pass them to AuthToken or
// RefreshToken, adding any other claims to the map:
//
//	claims := manager.DPoPBinding(proof.Thumbprint)
//	claims["tenant"] = "acme"
//	auth, err := m.AuthToken(sub, scope, claims)
//
// A token bound so is accepted only with a proof by that key; a refresh
// token passes its binding on through RotateRefreshToken.
func DPoPBinding(jkt string) map[string]any {
	return map[string]any{confirmationClaim: map[string]any{"jkt": jkt}}
}

// CertificateBinding returns the custom claims of a token bound to the
// client certificate whose x5t#S256 is thumbprint
// ([dpop.CertificateThumbprint]): {"cnf": {"x5t#S256": thumbprint}} (RFC
// 8705 §3). A token bound so is accepted only over a TLS connection
// authenticated by that certificate.
func CertificateBinding(thumbprint string) map[string]any {
	return map[string]any{confirmationClaim: map[string]any{"x5t#S256": thumbprint}}
}

// carryBinding returns the claims of the auth token that a rotation of
// refresh issues: grant's claims, with the cnf of refresh when grant
// names none. A login bound to a key stays bound to it.
func carryBinding(refresh *Token, claims map[string]any) map[string]any {
	cnf, bound := refresh.Claims[confirmationClaim]
	if !bound {
		return claims
	}
	if _, named := claims[confirmationClaim]; named {
		return claims // checked against refresh's once issued
	}
	out := make(map[string]any, len(claims)+1)
	for k, v := range claims {
		out[k] = v
	}
	out[confirmationClaim] = cnf
	return out
}
