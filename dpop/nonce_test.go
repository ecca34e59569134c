package dpop

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestNonceSource(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	key := []byte(strings.Repeat("k", 32))
	s, err := NewNonceSource(WithNonceKey(key), WithNonceRotation(time.Minute), WithNonceClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	n0 := s.Nonce()
	if !s.Valid(n0) || s.Nonce() != n0 {
		t.Fatal("the current nonce is not valid, or changed within its period")
	}
	now.Add(int64(time.Minute))
	n1 := s.Nonce()
	if n1 == n0 {
		t.Fatal("nonce did not rotate")
	}
	if !s.Valid(n0) || !s.Valid(n1) {
		t.Fatal("after a rotation the previous and the current nonce must be valid")
	}
	now.Add(int64(time.Minute))
	if s.Valid(n0) {
		t.Fatal("a nonce two rotations old is valid")
	}

	other, _ := NewNonceSource(WithNonceKey([]byte(strings.Repeat("o", 32))), WithNonceRotation(time.Minute), WithNonceClock(clock))
	shared, _ := NewNonceSource(WithNonceKey(key), WithNonceRotation(time.Minute), WithNonceClock(clock))
	cur := s.Nonce()
	if other.Valid(cur) {
		t.Fatal("a nonce of another key is valid")
	}
	if !shared.Valid(cur) {
		t.Fatal("an instance sharing the key refuses the nonce")
	}

	future := s.Nonce()
	now.Add(-int64(time.Minute))
	bad := []struct{ name, nonce string }{
		{"empty", ""},
		{"a nonce of the next period", future},
		{"truncated", cur[:len(cur)-1]},
		{"one bit flipped", flip(cur)},
		{"padded", cur + "="},
		{"not base64url", strings.Repeat("*", len(cur))},
	}
	for _, b := range bad {
		if s.Valid(b.nonce) {
			t.Errorf("%s: Valid = true", b.name)
		}
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[len(b)-2] == 'A' {
		b[len(b)-2] = 'B'
	} else {
		b[len(b)-2] = 'A'
	}
	return string(b)
}

func TestNonceOptionsRefused(t *testing.T) {
	for name, opt := range map[string]NonceOption{
		"short key":      WithNonceKey([]byte("short")),
		"rotation 100ms": WithNonceRotation(100 * time.Millisecond),
		"nil clock":      WithNonceClock(nil),
	} {
		if s, err := NewNonceSource(opt); !errors.Is(err, ErrNonceConfig) || s != nil {
			t.Errorf("%s: NewNonceSource = %v, %v; want ErrNonceConfig", name, s, err)
		}
	}
}

// TestVerifyNonce: with nonces required, a proof without the server's
// nonce fails with ErrUseNonce (and ErrProofInvalid).
func TestVerifyNonce(t *testing.T) {
	var now atomic.Int64
	now.Store(testNow.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	src, err := NewNonceSource(WithNonceRotation(time.Minute), WithNonceClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	otherSrc, _ := NewNonceSource(WithNonceRotation(time.Minute), WithNonceClock(clock))
	old := src.Nonce()
	now.Add(int64(2 * time.Minute))
	v := newTestVerifier(t, WithNonces(src), WithClock(clock))

	tests := []struct {
		name  string
		nonce any // nil: no nonce claim
		ok    bool
	}{
		{"current nonce", src.Nonce(), true},
		{"no nonce", nil, false},
		{"empty nonce", "", false},
		{"nonce of another source", otherSrc.Nonce(), false},
		{"nonce two rotations old", old, false},
		{"nonce a number", 42, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := defaultParts(t)
			p.claims["iat"] = clock().Unix()
			p.claims["jti"] = "nonce-" + string(rune('a'+i))
			if tt.nonce != nil {
				p.claims["nonce"] = tt.nonce
			}
			_, err := v.Verify(context.Background(), p.sign(t), testCall, "")
			if tt.ok {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if _, isNum := tt.nonce.(int); isNum {
				if !errors.Is(err, errJSON) {
					t.Fatalf("Verify: %v; want errJSON", err)
				}
				return
			}
			if !errors.Is(err, ErrUseNonce) || !errors.Is(err, ErrProofInvalid) || !errors.Is(err, errNonce) {
				t.Fatalf("Verify: %v; want ErrUseNonce and ErrProofInvalid", err)
			}
		})
	}
}

// TestVerifierNonce: a Verifier gives out its source's current nonce, and
// none when it requires none.
func TestVerifierNonce(t *testing.T) {
	src, err := NewNonceSource()
	if err != nil {
		t.Fatal(err)
	}
	if got := newTestVerifier(t, WithNonces(src)).Nonce(); got != src.Nonce() || got == "" {
		t.Errorf("Nonce = %q, want the source's %q", got, src.Nonce())
	}
	if got := newTestVerifier(t).Nonce(); got != "" {
		t.Errorf("Nonce of a verifier without nonces = %q, want none", got)
	}
}
