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

// setAlgorithms sets the algorithm that signs (Config.Algorithm, none for
// a Manager of a JWK Set that leaves it empty) and those Verify accepts
// (Config.Algorithms, by default [Algorithm], or every asymmetric one for
// a JWK Set).
func (m *Manager) setAlgorithms(cfg Config) error {
	fromJWKS := cfg.JWKSURL != "" || len(cfg.JWKS) > 0 || cfg.Discovery
	if cfg.Algorithm != "" {
		alg, ok := algorithms[cfg.Algorithm]
		if !ok {
			return configError(fmt.Sprintf("unknown Algorithm %q", cfg.Algorithm))
		}
		m.alg = alg
	} else if !fromJWKS {
		return configError("Algorithm is required")
	}

	names := cfg.Algorithms
	switch {
	case len(names) > 0:
	case cfg.Algorithm != "":
		names = []string{cfg.Algorithm}
	default:
		names = defaultJWKSAlgorithms
	}
	m.algs = make([]algorithm, 0, len(names))
	for _, name := range names {
		alg, ok := algorithms[name]
		if !ok {
			// "none" is no algorithm of this package: refused like any unknown one.
			return configError(fmt.Sprintf("unknown algorithm %q in Algorithms", name))
		}
		if fromJWKS && alg.family == familyHMAC {
			return configError(name + " keys are secret and never come from a JWK Set")
		}
		if !slices.ContainsFunc(m.algs, func(a algorithm) bool { return a.name == name }) {
			m.algs = append(m.algs, alg)
		}
	}
	if cfg.Algorithm != "" && !slices.ContainsFunc(m.algs, func(a algorithm) bool { return a.name == cfg.Algorithm }) {
		return configError("Algorithm is not one of Algorithms: the Manager would refuse its own tokens")
	}
	accepted := make([]string, len(m.algs))
	for i, a := range m.algs {
		accepted[i] = a.name
	}
	m.algErrors = algorithmErrors(accepted)
	return nil
}

// algorithmErrors returns the refusals of tokens of algorithms Verify
// does not accept, given those it does: for each algorithm this package
// knows, and "none", the error names it; any other alg header is attacker
// text and is not shown. They are made once, so that a refusal costs no
// allocation.
func algorithmErrors(accepted []string) map[string]error {
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
func (m *Manager) errAlgorithm(name string) error {
	if err, ok := m.algErrors[name]; ok && name != "" {
		return err
	}
	return m.algErrors[""]
}

// accepted returns the algorithm of the alg header name when Verify
// accepts it.
func (m *Manager) accepted(name string) (algorithm, bool) {
	for i := range m.algs {
		if m.algs[i].name == name {
			return m.algs[i], true
		}
	}
	return algorithm{}, false
}

// checkKeysForAll checks cfg's keys as checkKeys does for every algorithm
// Verify accepts, and returns them for the one that signs: a key of the
// Manager verifies every token of an accepted algorithm, so that one
// listed algorithm can't be a way around the kind of its key.
func (m *Manager) checkKeysForAll(cfg Config) (signKey, verifyKey any, err error) {
	for _, alg := range m.algs {
		if alg.name == m.alg.name {
			continue
		}
		probe := cfg
		if alg.family != familyHMAC {
			// The signing self-test is m.alg's; others need the public half.
			probe.PrivateKey = nil
			if probe.PublicKey == nil && cfg.PrivateKey != nil {
				probe.PublicKey = cfg.PrivateKey.Public()
			}
		}
		if _, _, err := checkKeys(probe, alg); err != nil {
			return nil, nil, err
		}
	}
	return checkKeys(cfg, m.alg)
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
