package dpop

import (
	"errors"
	"fmt"
)

var (
	// ErrProofMissing: a call that needs a proof of possession carries none:
	// no DPoP proof, or no client certificate for a certificate-bound token.
	// Adapters answer it with protojwt.ReasonProofMissing.
	ErrProofMissing = errors.New("dpop: proof of possession missing")

	// ErrProofInvalid: a DPoP proof or a client certificate fails a check;
	// the error's text names the check. Adapters answer it with
	// protojwt.ReasonProofInvalid and the challenge error
	// "invalid_dpop_proof" (DPoP) or "invalid_token" (certificates).
	ErrProofInvalid = errors.New("dpop: proof of possession invalid")

	// ErrUseNonce: the proof lacks the server's current nonce (RFC 9449
	// §8). It comes wrapped together with [ErrProofInvalid]; adapters answer
	// it with the challenge error "use_dpop_nonce" and a DPoP-Nonce header
	// holding [NonceSource.Nonce].
	ErrUseNonce = errors.New("dpop: use the server's nonce")

	// ErrReplayCacheFull: a [MemoryReplayCache] holds its maximum number of
	// unexpired entries, so it can't record another proof without forgetting
	// one that could then be replayed. The proof is refused; adapters answer
	// it as a service unavailable for a moment.
	ErrReplayCacheFull = errors.New("dpop: replay cache full")
)

// The checks of a proof, each its own error so that tests tell them apart;
// every one is wrapped with [ErrProofInvalid]. Their texts name the check
// and never the proof, the token or key material.
var (
	errSize      = errors.New("proof larger than the limit")
	errSyntax    = errors.New("proof is not a compact JWS")
	errEncoding  = errors.New("proof segment is not base64url")
	errJSON      = errors.New("proof header or claims are not a JSON object")
	errTyp       = errors.New(`typ is not "dpop+jwt"`)
	errAlg       = errors.New("alg is not an accepted asymmetric algorithm")
	errCrit      = errors.New("crit header parameters are not supported")
	errJWK       = errors.New("jwk is missing or not a supported public key")
	errPrivate   = errors.New("jwk holds private key members")
	errSignature = errors.New("signature does not verify with the jwk")
	errJTI       = errors.New("jti is missing or too long")
	errHTM       = errors.New("htm does not match the call's method")
	errHTU       = errors.New("htu does not match the call's URL")
	errIAT       = errors.New("iat is missing or outside the accepted window")
	errATH       = errors.New("ath does not match the access token")
	errNonce     = errors.New("nonce is not the server's current nonce")
	errJKT       = errors.New("jwk thumbprint does not match the token's cnf.jkt")
	errReplay    = errors.New("jti was already used")
	errValues    = errors.New("several DPoP header values")
	errCnf       = errors.New("token cnf claim is malformed or of an unsupported method")
	errCert      = errors.New("client certificate does not match the token's cnf x5t#S256")
)

// invalid wraps a check's error with [ErrProofInvalid].
func invalid(check error) error {
	return fmt.Errorf("%w: %w", ErrProofInvalid, check)
}
