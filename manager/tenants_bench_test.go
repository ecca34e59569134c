package manager

import (
	"context"
	"testing"
)

// BenchmarkTenantWarm compares a warm call (a token in the verification
// cache) through TenantIssuers with one through Issuers listing the same
// tenant's Manager. Compare "tenant" with "listed" in one run:
//
//	go test -run '^$' -bench TenantWarm -count 10 ./manager | benchstat -col /issuers -
func BenchmarkTenantWarm(b *testing.B) {
	p := newTenantProvider(&testing.T{}, "trusted-a", "trusted-b")
	defer p.Close()
	listedA, err := New(Config{Issuer: p.issuer("trusted-a"), Discovery: true}, WithClock(testClock))
	if err != nil {
		b.Fatal(err)
	}
	defer listedA.Close()
	listedB, err := New(Config{Issuer: p.issuer("trusted-b"), Discovery: true}, WithClock(testClock))
	if err != nil {
		b.Fatal(err)
	}
	defer listedB.Close()
	listed, err := NewIssuers(listedA, listedB)
	if err != nil {
		b.Fatal(err)
	}
	tenants := newTestTenants(b, p, nil)
	tok := p.token(b, "trusted-a")
	for _, bc := range []struct {
		name string
		v    Verifier
	}{{"issuers=listed", listed}, {"issuers=tenant", tenants}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			for range 2 { // the first call verifies and caches
				if _, err := bc.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
