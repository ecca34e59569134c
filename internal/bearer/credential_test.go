package bearer

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/protojwt/protojwt/manager"
)

func TestCredential(t *testing.T) {
	const tok = "aaa.bbb.ccc"
	tests := []struct {
		name     string
		values   []string
		limit    int
		want     string
		wantDPoP bool
		wantErr  error // ErrRequest for a request error, manager.ErrMalformed for a token too long
	}{
		{"bearer", []string{"Bearer " + tok}, maxHeader, tok, false, nil},
		{"dpop", []string{"DPoP " + tok}, maxHeader, tok, true, nil},
		{"dpop lower case", []string{"dpop " + tok}, maxHeader, tok, true, nil},
		{"dpop upper case", []string{"DPOP " + tok}, maxHeader, tok, true, nil},
		{"no values", nil, maxHeader, "", false, manager.ErrNoToken},
		{"dpop scheme alone", []string{"DPoP"}, maxHeader, "", true, ErrRequest},
		{"dpop and space", []string{"DPoP "}, maxHeader, "", true, ErrRequest},
		{"dpop two spaces", []string{"DPoP  " + tok}, maxHeader, "", true, ErrRequest},
		{"dpop tab", []string{"DPoP\t" + tok}, maxHeader, "", true, ErrRequest},
		{"dpop glued", []string{"DPoP" + tok}, maxHeader, "", false, ErrRequest},
		{"dpop longer scheme", []string{"DPoPx " + tok}, maxHeader, "", false, ErrRequest},
		{"dpop space inside", []string{"DPoP aaa bbb"}, maxHeader, "", true, ErrRequest},
		{"dpop NUL", []string{"DPoP " + tok + "\x00"}, maxHeader, "", true, ErrRequest},
		{"dpop twice", []string{"DPoP " + tok, "DPoP " + tok}, maxHeader, "", false, ErrRequest},
		{"dpop and bearer", []string{"DPoP " + tok, "Bearer " + tok}, maxHeader, "", false, ErrRequest},
		{"dpop over the bound", []string{"DPoP " + strings.Repeat("a", 8<<10+1)}, 8 << 10, "", true, manager.ErrMalformed},
		{"dpop at the bound", []string{"DPoP " + strings.Repeat("a", 8<<10)}, 8 << 10, strings.Repeat("a", 8<<10), true, nil},
		{"short value", []string{"DPo"}, maxHeader, "", false, ErrRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dpop, err := Credential(tt.values, tt.limit)
			if tt.wantErr == nil {
				if err != nil || got != tt.want || dpop != tt.wantDPoP {
					t.Fatalf("Credential = %q, %v, %v; want %q, %v", got, dpop, err, tt.want, tt.wantDPoP)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || got != "" || dpop != tt.wantDPoP {
				t.Fatalf("Credential = %q, %v, %v; want %v, dpop %v", got, dpop, err, tt.wantErr, tt.wantDPoP)
			}
			if errors.Is(tt.wantErr, ErrRequest) && strings.Contains(err.Error(), "aaa") {
				t.Fatalf("error quotes the token: %v", err)
			}
		})
	}
}

func FuzzCredential(f *testing.F) {
	for _, s := range []string{"DPoP a.b.c", "dpop x", "DPoP  x", "DPoPx", "Bearer a.b.c", "", "DPoP", "DPoP\tx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		tok, dpop, err := Credential([]string{v}, maxHeader)
		if err != nil {
			if tok != "" {
				t.Fatalf("token %q returned with error", tok)
			}
			re, isRequest := errors.AsType[*RequestError](err)
			known := err == manager.ErrNoToken || err == errLong || isRequest && slices.Contains(RequestErrors(), re)
			if !known {
				t.Fatalf("Credential(%q) = %v, not one of the parser's errors", v, err)
			}
			return
		}
		scheme := "bearer "
		if dpop {
			scheme = "dpop "
		}
		if tok == "" || len(v) != len(scheme)+len(tok) || !strings.EqualFold(v[:len(scheme)], scheme) {
			t.Fatalf("Credential(%q) = %q, %v", v, tok, dpop)
		}
		for i := 0; i < len(tok); i++ {
			if !isB64TokenRFC(tok[i]) {
				t.Fatalf("Credential(%q) accepted byte %q", v, tok[i])
			}
		}
	})
}
