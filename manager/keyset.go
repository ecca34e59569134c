package manager

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
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
		return "", ks.byID[""], nil
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

// initKeys sets the keys of a new Manager from cfg: its own key, a static
// JWK Set, or a JWK Set fetched from a URL, given or found by discovery.
// Errors wrap ErrConfig, or ErrJWKS when a JWK Set can't be fetched.
func (m *Manager) initKeys(cfg Config) error {
	m.source = &m.keys // unless the keys come from JWKSURL or Discovery
	ctx := m.openCtx
	m.openCtx = nil
	if ctx == nil {
		ctx = context.Background()
	}
	if err := m.checkKeyOptions(); err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{cfg.JWKSURL != "", len(cfg.JWKS) > 0, cfg.Discovery} {
		if set {
			sources++
		}
	}
	external := sources > 0
	switch {
	case sources > 1:
		return configError("Discovery, JWKSURL and JWKS are exclusive")
	case external && (len(cfg.Secret) > 0 || cfg.PrivateKey != nil || cfg.PublicKey != nil || cfg.KeyID != ""):
		return configError("a Manager with Discovery, JWKSURL or JWKS takes its keys from the JWK Set: no Secret, PrivateKey, PublicKey or KeyID")
	}

	var byID map[string]any
	var jwkAlg map[string]string
	var signKey any
	switch {
	case cfg.Discovery:
		if err := m.openDiscovered(ctx, cfg.Issuer); err != nil {
			return err
		}
		byID = map[string]any{}
	case cfg.JWKSURL != "":
		if err := m.openRemote(ctx, cfg.JWKSURL); err != nil {
			return err
		}
		byID = map[string]any{}
	case len(cfg.JWKS) > 0:
		var err error
		if byID, jwkAlg, err = parseJWKS(cfg.JWKS, m.algs); err != nil {
			return fmt.Errorf("manager: JWKS: %w: %w", err, ErrConfig)
		}
	default:
		var verifyKey any
		var err error
		if signKey, verifyKey, err = m.checkKeysForAll(cfg); err != nil {
			return configError(err.Error())
		}
		byID = map[string]any{cfg.KeyID: verifyKey}
	}
	ks, err := newKeySet(m.alg, cfg.KeyID, signKey, byID)
	if err != nil {
		m.source.close()
		return err
	}
	ks.fixed = external
	ks.jwkAlg = jwkAlg
	m.keys.set.Store(ks)
	return nil
}

// RotateKey makes k the signing key of m: tokens issued from now on carry
// k.ID in their kid header and are signed with k. The keys m had keep
// verifying the tokens they signed until RemoveKey retires them, so a live
// Manager changes keys without refusing a valid token.
//
// k needs an ID, and a Secret (HS algorithms) or a PrivateKey of the kind
// Config.Algorithm needs, and that fits every algorithm of
// Config.Algorithms, checked as New checks Config. An ID m already
// knows may only name the same key: RotateKey then promotes a key that
// AddKey announced earlier. The keys of a Manager with Config.JWKS,
// Config.JWKSURL or Config.Discovery come from the JWK Set: no method
// changes them. Errors wrap ErrConfig and never contain key material.
//
// Once m knows more than one key, or a key with an ID, Verify selects the
// key of a token by its kid header: a token without kid needs a key without
// ID (the one of a Config without KeyID), and a token whose kid m does not
// know is refused with ErrSignature.
func (m *Manager) RotateKey(k Key) error {
	return m.changeKeys(k, true)
}

// AddKey adds k to the keys that verify tokens, without signing with it:
// to announce the next signing key in the JWK Set before RotateKey uses it,
// or to keep verifying the tokens of a key a restarted service no longer
// signs with. k needs an ID and the key material RotateKey checks, except
// that a PublicKey alone will do. Adding a key m already has under the same
// ID does nothing; an ID naming another key is refused. Errors wrap
// ErrConfig.
func (m *Manager) AddKey(k Key) error {
	return m.changeKeys(k, false)
}

// RemoveKey retires the key with the given ID ("" for the key of a Config
// without KeyID): tokens it signed are refused from now on with
// ErrSignature, and it leaves the JWK Set. The signing key and the last key
// of m can't be removed. Errors, also for an ID m does not know, wrap
// ErrConfig.
func (m *Manager) RemoveKey(id string) error {
	m.keys.mu.Lock()
	defer m.keys.mu.Unlock()
	cur := m.keys.set.Load()
	if cur.fixed {
		return configError("the keys of this Manager come from a JWK Set")
	}
	switch _, ok := cur.byID[id]; {
	case !ok:
		return configError(fmt.Sprintf("no key with ID %q", id))
	case cur.signKey != nil && id == cur.signID:
		return configError(fmt.Sprintf("key %q signs tokens: rotate to another key first", id))
	case len(cur.byID) == 1:
		return configError(fmt.Sprintf("key %q is the last key", id))
	}
	byID := maps.Clone(cur.byID)
	delete(byID, id)
	return m.storeKeys(cur.signID, cur.signKey, byID)
}

// changeKeys adds k, and makes it the signing key when sign is set.
func (m *Manager) changeKeys(k Key, sign bool) error {
	if k.ID == "" {
		return configError("Key.ID is required")
	}
	if strings.ContainsFunc(k.ID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return configError("Key.ID has control characters")
	}
	if m.alg.method == nil {
		return configError("the keys of this Manager come from a JWK Set")
	}
	if !sign && k.PrivateKey != nil && m.alg.family != familyHMAC {
		// Only the public half verifies; keep the private key out of m.
		pub := k.PublicKey
		if pub == nil {
			pub = k.PrivateKey.Public()
		}
		k = Key{ID: k.ID, PublicKey: pub}
	}
	signKey, verifyKey, err := m.checkKeysForAll(Config{Secret: k.Secret, PrivateKey: k.PrivateKey, PublicKey: k.PublicKey})
	if err != nil {
		return configError(fmt.Sprintf("key %q: %v", k.ID, err))
	}
	if sign && signKey == nil {
		return configError(fmt.Sprintf("key %q has no PrivateKey to sign with", k.ID))
	}

	m.keys.mu.Lock()
	defer m.keys.mu.Unlock()
	cur := m.keys.set.Load()
	if cur.fixed {
		return configError("the keys of this Manager come from a JWK Set")
	}
	if old, ok := cur.byID[k.ID]; ok {
		if !sameKey(old, verifyKey) {
			return configError(fmt.Sprintf("ID %q already names another key", k.ID))
		}
		if !sign {
			return nil
		}
	}
	byID := maps.Clone(cur.byID)
	byID[k.ID] = verifyKey
	if !sign {
		return m.storeKeys(cur.signID, cur.signKey, byID)
	}
	return m.storeKeys(k.ID, signKey, byID)
}

// storeKeys swaps in a new key set; m.keys.mu is held. On an error the
// current set stays.
func (m *Manager) storeKeys(signID string, signKey any, byID map[string]any) error {
	ks, err := newKeySet(m.alg, signID, signKey, byID)
	if err != nil {
		return err
	}
	m.keys.set.Store(ks)
	return nil
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
