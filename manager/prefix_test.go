package manager

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestGarbageRefusedByPrefix checks that random text is refused from its
// first characters: malformed, with the message checkSignature gives, and
// without an allocation, whatever its length up to the bound and whatever
// its later bytes (a CR, a third dot), which a full scan would refuse the
// same way.
func TestGarbageRefusedByPrefix(t *testing.T) {
	m := newTestManager(t, Config{Algorithm: "HS256", Secret: testSecret})
	ctx := context.Background()
	long := strings.Repeat("QUJD", 2000)
	for _, tok := range []string{
		"AAAA.b.c",
		long[:4000] + "." + long[:2000] + "." + long[:1000],
		long[:4000] + "\r." + long[:2000] + "." + long[:1000],
		long[:4000] + "." + long[:2000] + "." + long[:1000] + ".x",
		long[:6000],
	} {
		_, err := m.Verify(ctx, tok)
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Verify(%d bytes) error = %v, want ErrMalformed", len(tok), err)
		}
		if want := "manager: verify: not a compact JWS: " + ErrMalformed.Error(); err.Error() != want {
			t.Fatalf("Verify(%d bytes) error = %q, want %q", len(tok), err, want)
		}
		if n := testing.AllocsPerRun(20, func() { _, _ = m.Verify(ctx, tok) }); n != 0 {
			t.Errorf("Verify(%d bytes of garbage): %v allocations, want 0", len(tok), n)
		}
	}
}
