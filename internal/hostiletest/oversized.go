package hostiletest

import (
	"runtime"
	"strings"
)

// Size is the size of one oversized token of a flood.
type Size struct {
	// Name names the size in test and benchmark names, "9KiB".
	Name string
	// Bytes is the length of the token.
	Bytes int
}

// OversizedSizes are the token sizes of the adapters' oversized-token
// checks: just over the manager's 8 KiB bound (and under the bearer
// parser's 16 KiB), and far over both.
func OversizedSizes() []Size {
	return []Size{{"9KiB", 9 << 10}, {"64KiB", 64 << 10}, {"1MiB", 1 << 20}}
}

// OversizedToken returns a token-shaped value of n bytes: three segments
// of base64url characters, as a flood of forged tokens would be.
func OversizedToken(n int) string {
	const head = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
	return head + strings.Repeat("A", n-len(head)-44) + "." + strings.Repeat("B", 43)
}

// BytesPerCall returns the bytes f allocates per call, over runs calls,
// after one call that warms up pools and lazily built state.
func BytesPerCall(runs int, f func()) uint64 {
	f()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / uint64(runs)
}

// TokensOf returns the parts of Authorization values that a denial must
// not quote: each value and its token. Values under 16 bytes are left
// out: too short to be told apart from the denials' fixed texts.
func TokensOf(values []string) []string {
	var out []string
	for _, v := range values {
		if len(v) < 16 {
			continue
		}
		out = append(out, v)
		if _, tok, ok := strings.Cut(v, " "); ok && len(tok) >= 16 {
			out = append(out, tok)
		}
	}
	return out
}
