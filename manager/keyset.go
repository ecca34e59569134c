package manager

import (
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Key is one key of a Manager's key set, named by its key ID: what AddKey
// and RotateKey take. Its fields mean what the fields of the same names mean
// in Config, for the Manager's Config.Algorithm: Secret for the HS
// algorithms, PrivateKey and PublicKey for the others.
type Key struct {
	// ID is the key's "kid": the header that tells Verify which key checks
	// a token. Required.
	ID string
	// Secret is the HMAC key of the HS algorithms, at least 32 bytes.
	Secret []byte
	// PrivateKey signs tokens (RS, PS, ES and EdDSA). RotateKey needs it;
	// AddKey only keeps its public half.
	PrivateKey crypto.Signer
	// PublicKey verifies tokens (RS, PS, ES and EdDSA); derived from
	// PrivateKey when nil.
	PublicKey crypto.PublicKey
}

// keySet is the immutable key state of a Manager: rotation builds a new one
// and swaps it in, so Verify and AuthToken read it without locking.
type keySet struct {
	signID  string
	signKey any    // nil: the Manager only verifies
	header  string // the encoded header of issued tokens and its dot
	byID    map[string]any
	order   []string // the IDs of byID: the signing key first, then sorted
	// anyKID is set for a single key without an ID, the configuration of a
	// Manager before key rotation: the kid header of tokens is then ignored.
	anyKID bool
	only   any // with anyKID, that key: selected without a lookup
	// fixed is set for keys from a JWK Set (Config.JWKS, JWKSURL or
	// Discovery), which no method changes.
	fixed bool
	// jwkAlg holds the "alg" of the keys of a JWK Set that name one, by
	// ID: such a key verifies that algorithm only.
	jwkAlg map[string]string
	jwks   []byte // the public keys as a JWK Set
	etag   string // strong ETag of jwks
}

// newKeySet builds the key set that signs with signKey under signID (nil:
// none) and verifies with byID, which it owns.
func newKeySet(alg algorithm, signID string, signKey any, byID map[string]any) (*keySet, error) {
	ks := &keySet{signID: signID, signKey: signKey, byID: byID}
	ks.order = slices.Sorted(maps.Keys(byID))
	if signKey != nil {
		ks.order = slices.DeleteFunc(ks.order, func(id string) bool { return id == signID })
		ks.order = append([]string{signID}, ks.order...)
	}
	_, kidless := byID[""]
	ks.anyKID = len(byID) == 1 && kidless
	if ks.anyKID {
		ks.only = byID[""]
	}

	if signKey != nil {
		header, err := json.Marshal(struct {
			Alg string `json:"alg"`
			Typ string `json:"typ"`
			Kid string `json:"kid,omitempty"`
		}{alg.name, "JWT", signID})
		if err != nil {
			return nil, fmt.Errorf("manager: encode header: %w", err)
		}
		ks.header = base64.RawURLEncoding.EncodeToString(header) + "."
	}
	var err error
	if ks.jwks, err = marshalJWKS(alg, ks.order, byID); err != nil {
		return nil, err
	}
	ks.etag = etagOf(ks.jwks)
	return ks, nil
}

// headerKID returns the kid header, "" when absent; a kid that is not a string
// is errKeyID. A kid is only ever a map key, never a path or URL.
func headerKID(header map[string]any) (string, error) {
	v, ok := header["kid"]
	if !ok {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", errKeyID
	}
	return s, nil
}

// verificationKey selects the key of a token by its kid header, and
// returns its ID: absent and "" name the key without an ID.
func (ks *keySet) verificationKey(header map[string]any) (string, any, error) {
	if ks.anyKID {
		return "", ks.only, nil
	}
	id, err := headerKID(header)
	if err != nil {
		return "", nil, err
	}
	key, ok := ks.byID[id]
	if !ok {
		return "", nil, errUnknownKey
	}
	return id, key, nil
}

// fits reports whether the key of ID id may verify tokens of alg: its kind
// fits, and a JWK that names an algorithm names alg.
func (ks *keySet) fits(id string, key any, alg algorithm) bool {
	if !keyFits(alg, key) {
		return false
	}
	if len(ks.jwkAlg) == 0 {
		return true
	}
	named, ok := ks.jwkAlg[id]
	return !ok || named == alg.name
}

// sameKey reports whether two verification keys, as checkKeys returns them,
// are the same key.
func sameKey(a, b any) bool {
	if sa, ok := a.([]byte); ok {
		sb, ok := b.([]byte)
		return ok && len(sa) == len(sb) && subtle.ConstantTimeCompare(sa, sb) == 1
	}
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// etagOf returns a strong HTTP entity tag of doc.
func etagOf(doc []byte) string {
	sum := sha256.Sum256(doc)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
}
