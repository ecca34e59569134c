package dpop

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// NonceSource issues the server nonces of RFC 9449 §8 and checks them.
// A nonce names a period of the rotation schedule and carries an HMAC of
// it: no state is kept, nonces are checked in constant time, and instances
// that share the key ([WithNonceKey]) accept each other's nonces. A nonce of
// the current or the previous period is valid, so a client that fetched
// one just before a rotation is not refused.
type NonceSource struct {
	key      []byte
	rotation time.Duration
	now      func() time.Time
}

// NonceOption configures a [NonceSource].
type NonceOption interface{ applyNonce(*NonceSource) error }

type nonceOptionFunc func(*NonceSource) error

func (f nonceOptionFunc) applyNonce(s *NonceSource) error { return f(s) }

// ErrNonceConfig: a [NonceSource] option is out of range.
var ErrNonceConfig = errors.New("dpop: invalid nonce option")

// DefaultNonceRotation is how often a [NonceSource] moves to a new nonce
// by default; a nonce stays valid for one to two rotations.
const DefaultNonceRotation = 5 * time.Minute

// WithNonceRotation sets how often the nonce changes, at least a second.
// By default, [DefaultNonceRotation].
func WithNonceRotation(d time.Duration) NonceOption {
	return nonceOptionFunc(func(s *NonceSource) error {
		if d < time.Second {
			return fmt.Errorf("%w: rotation %v below 1s", ErrNonceConfig, d)
		}
		s.rotation = d
		return nil
	})
}

// WithNonceKey sets the HMAC key, at least 32 bytes; server instances that
// share it accept each other's nonces. By default, a random key of 32
// bytes, so nonces are valid on this instance alone.
func WithNonceKey(key []byte) NonceOption {
	return nonceOptionFunc(func(s *NonceSource) error {
		if len(key) < 32 {
			return fmt.Errorf("%w: key of %d bytes, want at least 32", ErrNonceConfig, len(key))
		}
		s.key = append([]byte(nil), key...)
		return nil
	})
}

// WithNonceClock sets the clock, for tests. By default, [time.Now].
func WithNonceClock(now func() time.Time) NonceOption {
	return nonceOptionFunc(func(s *NonceSource) error {
		if now == nil {
			return fmt.Errorf("%w: nil clock", ErrNonceConfig)
		}
		s.now = now
		return nil
	})
}

// NewNonceSource returns a nonce source.
func NewNonceSource(opts ...NonceOption) (*NonceSource, error) {
	s := &NonceSource{rotation: DefaultNonceRotation, now: time.Now}
	for _, o := range opts {
		if err := o.applyNonce(s); err != nil {
			return nil, err
		}
	}
	if s.key == nil {
		s.key = make([]byte, 32)
		rand.Read(s.key)
	}
	return s, nil
}

// nonceLen is the size of a nonce before encoding: the period and 16 bytes
// of its HMAC.
const nonceLen = 8 + 16

// Nonce returns the current nonce, for the DPoP-Nonce header.
func (s *NonceSource) Nonce() string {
	var raw [nonceLen]byte
	s.mac(raw[:], s.period())
	return b64.EncodeToString(raw[:])
}

// Valid reports whether nonce is the current or the previous period's.
func (s *NonceSource) Valid(nonce string) bool {
	if b64.EncodedLen(nonceLen) != len(nonce) {
		return false
	}
	var got [nonceLen]byte
	if n, err := b64.Decode(got[:], []byte(nonce)); err != nil || n != nonceLen {
		return false
	}
	p := binary.BigEndian.Uint64(got[:8])
	cur := s.period()
	if p != cur && p+1 != cur {
		return false
	}
	var want [nonceLen]byte
	s.mac(want[:], p)
	return hmac.Equal(got[8:], want[8:])
}

func (s *NonceSource) period() uint64 {
	return uint64(s.now().UnixNano() / int64(s.rotation))
}

// mac writes period and its HMAC-SHA-256, cut to 16 bytes, into dst.
func (s *NonceSource) mac(dst []byte, period uint64) {
	binary.BigEndian.PutUint64(dst[:8], period)
	h := hmac.New(sha256.New, s.key)
	h.Write(dst[:8])
	copy(dst[8:], h.Sum(nil))
}
