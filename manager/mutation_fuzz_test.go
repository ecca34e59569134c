package manager

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// mutate returns tok changed by one edit chosen by op, at pos, with byte b
// and count n; other is another valid token of the same manager, to splice
// from.
func mutate(tok, other string, op uint8, pos uint16, b byte, n uint8) string {
	if tok == "" {
		return tok
	}
	i := int(pos) % len(tok)
	parts := strings.Split(tok, ".")
	otherParts := strings.Split(other, ".")
	seg := int(pos) % 3
	switch op % 12 {
	case 0: // replace a byte
		return tok[:i] + string(b) + tok[i+1:]
	case 1: // insert a byte
		return tok[:i] + string(b) + tok[i:]
	case 2: // delete bytes
		return tok[:i] + tok[min(len(tok), i+1+int(n)%8):]
	case 3: // flip a bit
		return tok[:i] + string(tok[i]^(1<<(b%8))) + tok[i+1:]
	case 4: // swap the case of a letter
		c := tok[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		return tok[:i] + string(c) + tok[i+1:]
	case 5: // a segment of the other token
		parts[seg] = otherParts[seg]
		return strings.Join(parts, ".")
	case 6: // a segment re-encoded in another base64 alphabet or padded
		raw, err := base64.RawURLEncoding.DecodeString(parts[seg])
		if err != nil {
			return tok
		}
		encodings := []*base64.Encoding{base64.URLEncoding, base64.StdEncoding, base64.RawStdEncoding}
		parts[seg] = encodings[int(n)%len(encodings)].EncodeToString(raw)
		return strings.Join(parts, ".")
	case 7: // truncate
		return tok[:i]
	case 8: // append bytes
		return tok + strings.Repeat(string(b), 1+int(n)%4)
	case 9: // a segment twice
		parts[seg] += parts[seg]
		return strings.Join(parts, ".")
	case 10: // the unused bits of a segment's last character set
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		s := parts[seg]
		if s == "" {
			return tok
		}
		if last := strings.IndexByte(alphabet, s[len(s)-1]); last >= 0 {
			parts[seg] = s[:len(s)-1] + string(alphabet[last|int(1+b%3)])
		}
		return strings.Join(parts, ".")
	default: // a byte of a segment's decoded JSON or signature changed, re-encoded
		raw, err := base64.RawURLEncoding.DecodeString(parts[seg])
		if err != nil || len(raw) == 0 {
			return tok
		}
		raw[int(pos/3)%len(raw)] = b
		parts[seg] = base64.RawURLEncoding.EncodeToString(raw)
		return strings.Join(parts, ".")
	}
}

// FuzzVerifyMutation edits valid tokens of HS256, RS256 and EdDSA, whose
// signatures have one encoding only, and verifies the result: Verify
// accepts an edited token only when the edit left it unchanged, refuses
// every other with one of its sentinels, and never panics. (ECDSA
// signatures are malleable, (r, s) and (r, n-s) both verify: an ES token
// can be re-signed into another string with the same claims, which is no
// forgery, so ES is left out of this property.)
func FuzzVerifyMutation(f *testing.F) {
	cfgs := algorithmConfigs(f)
	type signed struct {
		m           *Manager
		tok, other  string
		description string
	}
	var tokens []signed
	for _, alg := range []string{"HS256", "RS256", "EdDSA"} {
		m := newTestManager(f, cfgs[alg])
		tok, err := m.AuthToken("alice", map[string]any{"admin": true}, map[string]any{"tenant": "acme"})
		if err != nil {
			f.Fatal(err)
		}
		other, err := m.AuthToken("mallory", map[string]any{"admin": false}, nil)
		if err != nil {
			f.Fatal(err)
		}
		tokens = append(tokens, signed{m, tok.Signed, other.Signed, alg})
	}
	for op := range uint8(12) {
		for which := range uint8(len(tokens)) {
			f.Add(which, op, uint16(40+7*op), byte('A'+op), op)
		}
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, which, op uint8, pos uint16, b byte, n uint8) {
		s := tokens[int(which)%len(tokens)]
		mutated := mutate(s.tok, s.other, op, pos, b, n)
		tok, err := s.m.Verify(ctx, mutated)
		if err == nil {
			if mutated != s.tok {
				t.Fatalf("%s: Verify accepted an edited token (op %d): %q, claims %v", s.description, op%12, mutated, tok.Claims)
			}
			return
		}
		if mutated == s.tok {
			t.Fatalf("%s: Verify refused the valid token: %v", s.description, err)
		}
		for _, sentinel := range authenticationErrors {
			if errors.Is(err, sentinel) {
				return
			}
		}
		t.Fatalf("%s: Verify() error %v wraps no sentinel", s.description, err)
	})
}
