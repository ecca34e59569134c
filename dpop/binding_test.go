package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"
)

func TestBindingOf(t *testing.T) {
	jkt := b64.EncodeToString(make([]byte, 32))
	x5t := b64.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name   string
		claims string
		want   Binding
		err    bool
	}{
		{name: "no cnf: bearer", claims: `{"sub":"a"}`},
		{name: "jkt: DPoP-bound", claims: `{"cnf":{"jkt":"` + jkt + `"}}`, want: Binding{JKT: jkt}},
		{name: "x5t#S256: certificate-bound", claims: `{"cnf":{"x5t#S256":"` + x5t + `"}}`, want: Binding{CertificateThumbprint: x5t}},
		{name: "both", claims: `{"cnf":{"jkt":"` + jkt + `","x5t#S256":"` + x5t + `"}}`, want: Binding{JKT: jkt, CertificateThumbprint: x5t}},
		{name: "jkt beside an unknown member", claims: `{"cnf":{"jkt":"` + jkt + `","ext":1}}`, want: Binding{JKT: jkt}},
		{name: "cnf null", claims: `{"cnf":null}`, err: true},
		{name: "cnf a string", claims: `{"cnf":"` + jkt + `"}`, err: true},
		{name: "cnf an array", claims: `{"cnf":["` + jkt + `"]}`, err: true},
		{name: "cnf empty", claims: `{"cnf":{}}`, err: true},
		{name: "cnf jwk only (unsupported)", claims: `{"cnf":{"jwk":{"kty":"EC"}}}`, err: true},
		{name: "cnf kid only (unsupported)", claims: `{"cnf":{"kid":"k1"}}`, err: true},
		{name: "jkt empty", claims: `{"cnf":{"jkt":""}}`, err: true},
		{name: "jkt a number", claims: `{"cnf":{"jkt":12}}`, err: true},
		{name: "jkt too short", claims: `{"cnf":{"jkt":"abc"}}`, err: true},
		{name: "jkt padded", claims: `{"cnf":{"jkt":"` + b64.EncodeToString(make([]byte, 31)) + `="}}`, err: true},
		{name: "jkt standard base64", claims: `{"cnf":{"jkt":"++++++++++++++++++++++++++++++++++++++++++8"}}`, err: true},
		{name: "x5t#S256 malformed beside a good jkt", claims: `{"cnf":{"jkt":"` + jkt + `","x5t#S256":"x"}}`, err: true},
		{name: "x5t (SHA-1) only", claims: `{"cnf":{"x5t":"` + x5t + `"}}`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims map[string]any
			if err := json.Unmarshal([]byte(tt.claims), &claims); err != nil {
				t.Fatal(err)
			}
			got, err := BindingOf(claims)
			if tt.err {
				if !errors.Is(err, ErrProofInvalid) || !errors.Is(err, errCnf) || got.Bound() {
					t.Fatalf("BindingOf = %+v, %v; want errCnf", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("BindingOf = %+v, %v; want %+v", got, err, tt.want)
			}
			if got.DPoP() != (tt.want.JKT != "") || got.Certificate() != (tt.want.CertificateThumbprint != "") {
				t.Fatalf("DPoP %v, Certificate %v for %+v", got.DPoP(), got.Certificate(), got)
			}
		})
	}
}

func testCert(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestCertificateThumbprint(t *testing.T) {
	cert := testCert(t, "client")
	sum := sha256.Sum256(cert.Raw)
	if got, want := CertificateThumbprint(cert), b64.EncodeToString(sum[:]); got != want || len(got) != 43 {
		t.Fatalf("CertificateThumbprint = %q; want %q", got, want)
	}
}

func TestCheckCertificate(t *testing.T) {
	client, other := testCert(t, "client"), testCert(t, "other")
	bound := Binding{CertificateThumbprint: CertificateThumbprint(client)}
	tests := []struct {
		name string
		b    Binding
		cert *x509.Certificate
		want error // nil: accepted
	}{
		{"the client's certificate", bound, client, nil},
		{"not certificate-bound, no certificate", Binding{}, nil, nil},
		{"DPoP-bound only, no certificate", Binding{JKT: "x"}, nil, nil},
		{"no certificate", bound, nil, ErrProofMissing},
		{"a certificate without DER", bound, &x509.Certificate{}, ErrProofMissing},
		{"another client's certificate", bound, other, errCert},
		{"thumbprint in upper case", Binding{CertificateThumbprint: upper(CertificateThumbprint(client))}, client, errCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckCertificate(tt.b, tt.cert)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("CheckCertificate = %v; want %v", err, tt.want)
			}
			if errors.Is(tt.want, errCert) && !errors.Is(err, ErrProofInvalid) {
				t.Fatalf("%v does not wrap ErrProofInvalid", err)
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}
