package manager

import (
	"bytes"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
)

// jwksContentType is the media type of a JWK Set (RFC 7517, section 8.5).
const jwksContentType = "application/jwk-set+json"

// JWKS returns the public keys that verify m's tokens as a JWK Set (RFC
// 7517), a JSON document to publish so that other services verify those
// tokens: each key with its "kid" (when it has an ID), "use": "sig" and the
// "alg" of Config.Algorithm, the signing key first. It never holds private
// key material: a Manager of an HS algorithm, whose keys are secret, and a
// Manager whose keys come from JWKSURL publish an empty set. Keys added,
// rotated and removed show in the next call. The caller owns the returned
// bytes.
func (m *Manager) JWKS() []byte {
	return bytes.Clone(m.signer.keys.set.Load().jwks)
}

// JWKSHandler returns an [http.Handler] that serves JWKS, to mount at
// "/.well-known/jwks.json". It answers GET and HEAD with Content-Type
// application/jwk-set+json, Cache-Control "public, max-age=N" (see
// [WithJWKSMaxAge]), an ETag, and 304 Not Modified when If-None-Match names the
// current ETag; other methods get 405. It serves the keys of the moment: a
// rotation shows in the next response, under a new ETag.
func (m *Manager) JWKSHandler() http.Handler {
	cacheControl := "no-cache"
	if s := int64(m.signer.jwksMaxAge / time.Second); s > 0 {
		cacheControl = "public, max-age=" + strconv.FormatInt(s, 10)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		ks := m.signer.keys.set.Load()
		h := w.Header()
		h.Set("Content-Type", jwksContentType)
		h.Set("Cache-Control", cacheControl)
		h.Set("ETag", ks.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		// ServeContent answers If-None-Match with 304 and HEAD without body.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(ks.jwks))
	})
}

// marshalJWKS encodes the public keys of byID, in the given order, as a JWK
// Set, each with the "alg" of alg (none for the zero algorithm). HMAC
// secrets are left out: they never leave the Manager.
func marshalJWKS(alg algorithm, order []string, byID map[string]any) ([]byte, error) {
	set := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
	if alg.family != familyHMAC {
		for _, id := range order {
			if _, secret := byID[id].([]byte); secret {
				continue
			}
			jwk, err := jwkset.NewJWKFromKey(byID[id], jwkset.JWKOptions{
				Metadata: jwkset.JWKMetadataOptions{
					ALG: jwkset.ALG(alg.name),
					KID: id,
					USE: jwkset.UseSig,
				},
			})
			if err != nil {
				// The key passed checkKeys; only a bug of ours gets here.
				return nil, fmt.Errorf("manager: encode key %q as JWK: %w", id, err)
			}
			set.Keys = append(set.Keys, jwk.Marshal())
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("manager: encode JWK Set: %w", err)
	}
	return doc, nil
}

// parseJWKS returns the keys of the JWK Set doc that verify at least one
// of algs, by kid, and the "alg" of those that name one. A key that can't
// (see usableKey), or of a type that jwkset does not support, is left out;
// a key that is not valid makes the whole set malformed, as does a kid used
// twice by usable keys. A set without a usable key is an error.
func parseJWKS(doc []byte, algs []algorithm) (map[string]any, map[string]string, error) {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil || set.Keys == nil {
		return nil, nil, errors.New(`not a JWK Set: a JSON object with a "keys" array`)
	}
	byID := map[string]any{}
	var jwkAlg map[string]string
	for i, raw := range *set.Keys {
		var km jwkset.JWKMarshal
		if err := json.Unmarshal(raw, &km); err != nil {
			return nil, nil, fmt.Errorf("key %d is not a JWK", i)
		}
		if km.KTY == jwkset.KtyOct {
			continue // a secret: never a verification key from a JWK Set
		}
		jwk, err := jwkset.NewJWKFromMarshal(km, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if errors.Is(err, jwkset.ErrUnsupportedKey) {
			continue
		}
		if err != nil {
			// jwkset's message may quote key parameters; leave it out.
			return nil, nil, fmt.Errorf("key %d is not a valid JWK", i)
		}
		key, err := usableKeyOfAny(jwk, algs)
		if err != nil {
			continue
		}
		if _, dup := byID[km.KID]; dup {
			return nil, nil, fmt.Errorf("two keys have the kid %q", km.KID)
		}
		byID[km.KID] = key
		if km.ALG != "" {
			if jwkAlg == nil {
				jwkAlg = map[string]string{}
			}
			jwkAlg[km.KID] = string(km.ALG)
		}
	}
	if len(byID) == 0 {
		return nil, nil, fmt.Errorf("no key usable with %s", algorithmList(algs))
	}
	return byID, jwkAlg, nil
}

// usableKeyOfAny returns the public key of jwk when it may verify tokens
// of at least one of algs.
func usableKeyOfAny(jwk jwkset.JWK, algs []algorithm) (any, error) {
	for _, alg := range algs {
		if key, err := usableKey(jwk, alg); err == nil {
			return key, nil
		}
	}
	return nil, errUnusable
}

// algorithmList names algs, for errors.
func algorithmList(algs []algorithm) string {
	names := make([]string, len(algs))
	for i, a := range algs {
		names[i] = a.name
	}
	return strings.Join(names, ", ")
}

// usableKey returns the public key of jwk, normalized, when it may verify
// tokens of alg: its "use", when present, is "sig"; its "key_ops", when
// present, include "verify"; its "alg", when present, is alg; and the key
// is of the kind, curve and size alg needs (checkPublicKey), never a secret.
func usableKey(jwk jwkset.JWK, alg algorithm) (any, error) {
	meta := jwk.Marshal()
	switch {
	case meta.USE != "" && meta.USE != jwkset.UseSig:
		return nil, errUnusable
	case len(meta.KEYOPS) > 0 && !slices.Contains(meta.KEYOPS, jwkset.KeyOpsVerify):
		return nil, errUnusable
	case meta.ALG != "" && string(meta.ALG) != alg.name:
		return nil, errUnusable
	case alg.family == familyHMAC || alg.family == familyNone:
		return nil, errUnusable
	}
	key := jwk.Key()
	if private, ok := key.(interface{ Public() crypto.PublicKey }); ok {
		key = private.Public()
	}
	key = normalizePublicKey(key)
	if key == nil || checkPublicKey(alg, key) != nil {
		return nil, errUnusable
	}
	return key, nil
}
