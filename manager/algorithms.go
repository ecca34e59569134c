package manager

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"fmt"
	"slices"
	"strings"
)

// defaultJWKSAlgorithms are what a Manager whose keys come from a JWK Set
// accepts when neither Algorithm nor Algorithms is set: every asymmetric
// algorithm, each key verifying those that fit its kind and JWK "alg".
var defaultJWKSAlgorithms = []string{
	"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
}

// chooseAlgorithms returns the algorithm that signs (Config.Algorithm,
// the zero algorithm for a Manager of a JWK Set that leaves it empty) and
// those Verify accepts (Config.Algorithms, by default Algorithm alone, or
// every asymmetric one for a JWK Set).
func chooseAlgorithms(cfg Config) (signing algorithm, accepted []algorithm, err error) {
	fromJWKS := cfg.JWKSURL != "" || len(cfg.JWKS) > 0 || cfg.Discovery
	if cfg.Algorithm != "" {
		alg, ok := algorithms[cfg.Algorithm]
		if !ok {
			return signing, nil, configError(fmt.Sprintf("unknown Algorithm %q", cfg.Algorithm))
		}
		signing = alg
	} else if !fromJWKS {
		return signing, nil, configError("Algorithm is required")
	}

	names := cfg.Algorithms
	switch {
	case len(names) > 0:
	case cfg.Algorithm != "":
		names = []string{cfg.Algorithm}
	default:
		names = defaultJWKSAlgorithms
	}
	accepted = make([]algorithm, 0, len(names))
	for _, name := range names {
		alg, ok := algorithms[name]
		if !ok {
			// "none" is no algorithm of this package: refused like any unknown one.
			return signing, nil, configError(fmt.Sprintf("unknown algorithm %q in Algorithms", name))
		}
		if fromJWKS && alg.family == familyHMAC {
			return signing, nil, configError(name + " keys are secret and never come from a JWK Set")
		}
		if !slices.ContainsFunc(accepted, func(a algorithm) bool { return a.name == name }) {
			accepted = append(accepted, alg)
		}
	}
	if cfg.Algorithm != "" && !slices.ContainsFunc(accepted, func(a algorithm) bool { return a.name == cfg.Algorithm }) {
		return signing, nil, configError("Algorithm is not one of Algorithms: the Manager would refuse its own tokens")
	}
	return signing, accepted, nil
}

// algorithmErrors returns the refusals of tokens of algorithms Verify
// does not accept, given those it does: for each algorithm this package
// knows, and "none", the error names it; any other alg header is attacker
// text and is not shown. They are made once, so that a refusal costs no
// allocation.
func algorithmErrors(algs []algorithm) map[string]error {
	accepted := make([]string, len(algs))
	for i, a := range algs {
		accepted[i] = a.name
	}
	allowed := "; Config.Algorithms accepts " + strings.Join(accepted, ", ")
	out := make(map[string]error, len(algorithms)+2)
	for name := range algorithms {
		if !slices.Contains(accepted, name) {
			out[name] = verifyError("token is signed with "+name+allowed, ErrAlgorithm)
		}
	}
	out["none"] = verifyError(`token is unsigned (alg "none")`+allowed, ErrAlgorithm)
	out[""] = verifyError("token's alg is no algorithm this package knows"+allowed, ErrAlgorithm)
	return out
}

// errAlgorithm returns the refusal of a token whose alg header, name, is
// not one Verify accepts.
func (v *verifier) errAlgorithm(name string) error {
	if err, ok := v.algErrors[name]; ok && name != "" {
		return err
	}
	return v.algErrors[""]
}

// accepted returns the algorithm of the alg header name when Verify
// accepts it.
func (v *verifier) accepted(name string) (algorithm, bool) {
	for i := range v.algs {
		if v.algs[i].name == name {
			return v.algs[i], true
		}
	}
	return algorithm{}, false
}

// checkKeysForAll checks cfg's keys as checkKeys does for every algorithm
// of algs, those Verify accepts, and returns them for signing, the one that
// signs: a key of the Manager verifies every token of an accepted
// algorithm, so that one listed algorithm can't be a way around the kind
// of its key.
func checkKeysForAll(cfg Config, signing algorithm, algs []algorithm) (signKey, verifyKey any, err error) {
	for _, alg := range algs {
		if alg.name == signing.name {
			continue
		}
		probe := cfg
		if alg.family != familyHMAC {
			// The signing self-test is signing's; others need the public half.
			probe.PrivateKey = nil
			if probe.PublicKey == nil && cfg.PrivateKey != nil {
				probe.PublicKey = cfg.PrivateKey.Public()
			}
		}
		if _, _, err := checkKeys(probe, alg); err != nil {
			return nil, nil, err
		}
	}
	return checkKeys(cfg, signing)
}

// keyFits reports whether key, a normalized public key (or an HMAC
// secret) whose size was checked when it was loaded, is of the kind and
// curve alg needs: an RSA key never verifies an ES token. It allocates
// nothing.
func keyFits(alg algorithm, key any) bool {
	switch alg.family {
	case familyHMAC:
		_, ok := key.([]byte)
		return ok
	case familyRSA:
		_, ok := key.(*rsa.PublicKey)
		return ok
	case familyECDSA:
		k, ok := key.(*ecdsa.PublicKey)
		return ok && k.Curve == alg.curve
	case familyEdDSA:
		_, ok := key.(ed25519.PublicKey)
		return ok
	}
	return false
}
