package dpop

import (
	"errors"
	"fmt"
	"time"
)

// Option configures a [Verifier].
type Option interface{ apply(*Verifier) error }

type optionFunc func(*Verifier) error

func (f optionFunc) apply(v *Verifier) error { return f(v) }

// ErrVerifierConfig: a [Verifier] option is out of range.
var ErrVerifierConfig = errors.New("dpop: invalid verifier option")

// WithMaxAge sets how old a proof's iat may be, between a second and an
// hour. By default, [DefaultMaxAge] (five minutes).
func WithMaxAge(d time.Duration) Option {
	return optionFunc(func(v *Verifier) error {
		if d < time.Second || d > time.Hour {
			return fmt.Errorf("%w: max age %v outside 1s..1h", ErrVerifierConfig, d)
		}
		v.maxAge = d
		return nil
	})
}

// WithLeeway sets how far ahead of the server's clock a proof's iat may
// be, up to five minutes. By default, [DefaultLeeway] (one minute).
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(v *Verifier) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("%w: leeway %v outside 0..5m", ErrVerifierConfig, d)
		}
		v.leeway = d
		return nil
	})
}

// WithAlgorithms sets the JWS algorithms a proof may use, among RS256,
// RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA and
// Ed25519; "none" and the HMAC algorithms are refused. By default, all of
// these.
func WithAlgorithms(algs ...string) Option {
	return optionFunc(func(v *Verifier) error {
		if len(algs) == 0 {
			return fmt.Errorf("%w: no algorithm", ErrVerifierConfig)
		}
		set := make(map[string]*algorithm, len(algs))
		for _, name := range algs {
			a, ok := algorithms[name]
			if !ok {
				return fmt.Errorf("%w: algorithm %q is not an asymmetric JWS algorithm", ErrVerifierConfig, name)
			}
			set[name] = a
		}
		v.algs = set
		return nil
	})
}

// WithReplayCache sets where accepted proofs are remembered; several
// server instances share one to refuse a proof replayed against another.
// By default, a [MemoryReplayCache] of [DefaultReplayEntries].
func WithReplayCache(c ReplayCache) Option {
	return optionFunc(func(v *Verifier) error {
		if c == nil {
			return fmt.Errorf("%w: nil replay cache", ErrVerifierConfig)
		}
		v.replay = c
		return nil
	})
}

// WithNonces requires every proof to carry a nonce of s (RFC 9449 §8); a
// proof without a valid one fails with [ErrUseNonce]. By default, no nonce
// is required.
func WithNonces(s *NonceSource) Option {
	return optionFunc(func(v *Verifier) error {
		if s == nil {
			return fmt.Errorf("%w: nil nonce source", ErrVerifierConfig)
		}
		v.nonces = s
		return nil
	})
}

// WithMaxProofSize bounds a proof's length in bytes, checked before it is
// parsed, between 1 KiB and 64 KiB. By default, [DefaultMaxProofSize]
// (8 KiB: an RSA-4096 key and its signature fit).
func WithMaxProofSize(n int) Option {
	return optionFunc(func(v *Verifier) error {
		if n < 1<<10 || n > 64<<10 {
			return fmt.Errorf("%w: max proof size %d outside 1KiB..64KiB", ErrVerifierConfig, n)
		}
		v.maxSize = n
		return nil
	})
}

// WithClock sets the clock, for tests. By default, [time.Now].
func WithClock(now func() time.Time) Option {
	return optionFunc(func(v *Verifier) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrVerifierConfig)
		}
		v.now, v.systemClock = now, false
		return nil
	})
}
