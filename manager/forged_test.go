package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// heavyClaims returns claims whose JSON is many small values, padded so
// that a token of alg comes close to the default size bound: the costliest
// payload to decode per byte.
func heavyClaims(n int) map[string]any {
	values := make([]any, n)
	for i := range values {
		values[i] = 1 // not 0, whose float64 boxing costs no allocation
	}
	return map[string]any{"x": values}
}

// heavyTokens returns a valid token of m with heavyClaims of about 8 KiB,
// and the same token with its signature's last character changed.
func heavyTokens(tb testing.TB, m *Manager) (valid, forged string) {
	tb.Helper()
	n := 3800
	for ; ; n -= 50 {
		tok, err := m.AuthToken("alice", nil, heavyClaims(n))
		if err == nil && len(tok.Signed) <= defaultMaxTokenSize {
			valid = tok.Signed
			break
		}
	}
	last := valid[len(valid)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'Q'
	}
	// Corrupt a byte inside the signature, not its trailing bits.
	i := strings.LastIndexByte(valid, '.') + 4
	forged = valid[:i] + string(repl) + valid[i+1:]
	if forged[i] == valid[i] {
		forged = valid[:i] + "B" + valid[i+1:]
	}
	return valid, forged
}

// TestForgedTokenCostsNoDecoding checks that a forged token of 8 KiB of
// small JSON values is refused with ErrSignature without decoding its
// claims: a handful of allocations, where decoding them takes thousands.
func TestForgedTokenCostsNoDecoding(t *testing.T) {
	cfgs := algorithmConfigs(t)
	for _, alg := range []string{"HS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			m := newTestManager(t, cfgs[alg], WithVerifyCache(0))
			valid, forged := heavyTokens(t, m)
			ctx := context.Background()
			if _, err := m.Verify(ctx, valid); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Verify(ctx, forged); !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify(forged) error = %v, want ErrSignature", err)
			}
			if raceEnabled {
				t.Skip("the race detector changes allocation counts")
			}
			validAllocs := testing.AllocsPerRun(5, func() { _, _ = m.Verify(ctx, valid) })
			forgedAllocs := testing.AllocsPerRun(5, func() { _, _ = m.Verify(ctx, forged) })
			// crypto/ecdsa allocates a few times per check; no claim does.
			if forgedAllocs > 20 || validAllocs < 1000 {
				t.Errorf("forged token: %v allocations, valid: %v; want at most 20 and at least 1000", forgedAllocs, validAllocs)
			}
		})
	}
}

// BenchmarkVerifyForgedVsValid is Verify of a token of 8 KiB of small JSON
// values seen for the first time (cold: the cache off), valid and with a
// forged signature, side by side for one symmetric and one asymmetric
// algorithm: the forged one must cost at most twice the valid one.
func BenchmarkVerifyForgedVsValid(b *testing.B) {
	cfgs := algorithmConfigs(b)
	ctx := context.Background()
	for _, alg := range []string{"HS256", "ES256"} {
		m := newTestManager(b, cfgs[alg], WithVerifyCache(0))
		valid, forged := heavyTokens(b, m)
		for _, bm := range []struct {
			name string
			tok  string
			ok   bool
		}{{"valid-cold", valid, true}, {"forged", forged, false}} {
			b.Run(alg+"/"+bm.name, func(b *testing.B) {
				b.SetBytes(int64(len(bm.tok)))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := m.Verify(ctx, bm.tok); (err == nil) != bm.ok {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
