package dpop

import (
	"bytes"
	"encoding/asn1"
	"math/big"
	"testing"
)

// TestASN1Signature: the DER written for a JWS ECDSA signature is what
// encoding/asn1 writes, for every size of r and s up to P-521's.
func TestASN1Signature(t *testing.T) {
	cases := [][2][]byte{
		{{0}, {0}},
		{{1}, {0x7f}},
		{{0x80}, {0xff, 0xff}},
		{{0, 0, 0x80}, {0, 1}},
		{bytes.Repeat([]byte{0xff}, 32), bytes.Repeat([]byte{0x7f}, 32)},
		{bytes.Repeat([]byte{0xff}, 48), bytes.Repeat([]byte{0x80}, 48)},
		{append([]byte{1}, bytes.Repeat([]byte{0xff}, 65)...), append([]byte{0}, bytes.Repeat([]byte{0xff}, 65)...)},
	}
	for _, c := range cases {
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(c[0]), new(big.Int).SetBytes(c[1])})
		if err != nil {
			t.Fatal(err)
		}
		if got := asn1Signature(nil, c[0], c[1]); !bytes.Equal(got, want) {
			t.Errorf("asn1Signature(%x, %x) = %x; want %x", c[0], c[1], got, want)
		}
	}
}
