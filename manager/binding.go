package manager

import (
	"errors"
	"reflect"

	"github.com/protojwt/protojwt/dpop"
)

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

// checkConfirmation checks a cnf claim, decoded from JSON: a non-empty
// object whose jkt and x5t#S256, when there, are what the adapters check.
func checkConfirmation(raw any) error {
	cnf, ok := raw.(map[string]any)
	if !ok || len(cnf) == 0 {
		return errors.New("not a non-empty JSON object")
	}
	ours := make(map[string]any, 2)
	for _, name := range [...]string{"jkt", "x5t#S256"} {
		if v, ok := cnf[name]; ok {
			ours[name] = v
		}
	}
	if len(ours) == 0 {
		return nil // another confirmation method (RFC 7800)
	}
	_, err := dpop.BindingOf(map[string]any{confirmationClaim: ours})
	return err
}

// sameConfirmation reports whether two tokens have the same cnf claim, or
// neither has one.
func sameConfirmation(a, b *Token) bool {
	ca, okA := a.Claims[confirmationClaim]
	cb, okB := b.Claims[confirmationClaim]
	return okA == okB && reflect.DeepEqual(ca, cb)
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
