package manager

import (
	"fmt"
	"maps"
	"strings"
)

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
// changes them. Errors wrap [ErrConfig] and never contain key material.
//
// Once m knows more than one key, or a key with an ID, Verify selects the
// key of a token by its kid header: a token without kid needs a key without
// ID (the one of a Config without KeyID), and a token whose kid m does not
// know is refused with [ErrSignature].
func (m *Manager) RotateKey(k Key) error {
	return m.signer.changeKeys(k, true)
}

// AddKey adds k to the keys that verify tokens, without signing with it:
// to announce the next signing key in the JWK Set before RotateKey uses it,
// or to keep verifying the tokens of a key a restarted service no longer
// signs with. k needs an ID and the key material RotateKey checks, except
// that a PublicKey alone will do. Adding a key m already has under the same
// ID does nothing; an ID naming another key is refused. Errors wrap
// [ErrConfig].
func (m *Manager) AddKey(k Key) error {
	return m.signer.changeKeys(k, false)
}

// RemoveKey retires the key with the given ID ("" for the key of a Config
// without KeyID): tokens it signed are refused from now on with
// [ErrSignature], and it leaves the JWK Set. The signing key and the last key
// of m can't be removed. Errors, also for an ID m does not know, wrap
// [ErrConfig].
func (m *Manager) RemoveKey(id string) error {
	return m.signer.removeKey(id)
}

// removeKey is RemoveKey.
func (s *signer) removeKey(id string) error {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	cur := s.keys.set.Load()
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
	return s.storeKeys(cur.signID, cur.signKey, byID)
}

// changeKeys adds k, and makes it the signing key when sign is set.
func (s *signer) changeKeys(k Key, sign bool) error {
	if k.ID == "" {
		return configError("Key.ID is required")
	}
	if strings.ContainsFunc(k.ID, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return configError("Key.ID has control characters")
	}
	if s.alg.method == nil {
		return configError("the keys of this Manager come from a JWK Set")
	}
	if !sign && k.PrivateKey != nil && s.alg.family != familyHMAC {
		// Only the public half verifies; keep the private key out of m.
		pub := k.PublicKey
		if pub == nil {
			pub = k.PrivateKey.Public()
		}
		k = Key{ID: k.ID, PublicKey: pub}
	}
	signKey, verifyKey, err := checkKeysForAll(Config{Secret: k.Secret, PrivateKey: k.PrivateKey, PublicKey: k.PublicKey}, s.alg, s.algs)
	if err != nil {
		return configError(fmt.Sprintf("key %q: %v", k.ID, err))
	}
	if sign && signKey == nil {
		return configError(fmt.Sprintf("key %q has no PrivateKey to sign with", k.ID))
	}

	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	cur := s.keys.set.Load()
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
		return s.storeKeys(cur.signID, cur.signKey, byID)
	}
	return s.storeKeys(k.ID, signKey, byID)
}

// storeKeys swaps in a new key set; s.keys.mu is held. On an error the
// current set stays.
func (s *signer) storeKeys(signID string, signKey any, byID map[string]any) error {
	ks, err := newKeySet(s.alg, signID, signKey, byID)
	if err != nil {
		return err
	}
	s.keys.set.Store(ks)
	return nil
}
