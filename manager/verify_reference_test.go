package manager

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt/internal/jws"
)

// referenceVerifier is Verify as golang-jwt's parser and validator do it,
// the way this package verified tokens before its own decoding: the oracle
// that Verify must agree with on every input.
type referenceVerifier struct {
	m         *Manager
	parser    *jwt.Parser
	validator *jwt.Validator
}

func newReferenceVerifier(m *Manager) *referenceVerifier {
	validation := []jwt.ParserOption{
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithIssuer(m.issuer),
		jwt.WithLeeway(m.verifier.leeway),
		jwt.WithTimeFunc(m.verifier.now),
	}
	if len(m.verifier.audience) > 0 {
		validation = append(validation, jwt.WithAudience(m.verifier.audience...))
	}
	return &referenceVerifier{
		m: m,
		parser: jwt.NewParser(
			jwt.WithValidMethods([]string{m.signer.alg.method.Alg()}),
			jwt.WithStrictDecoding(),
			jwt.WithoutClaimsValidation(),
		),
		validator: jwt.NewValidator(validation...),
	}
}

// verify returns the claims of signed, or the sentinel of its refusal.
func (r *referenceVerifier) verify(signed string) (map[string]any, error) {
	m := r.m
	if signed == "" {
		return nil, ErrNoToken
	}
	if len(signed) > m.verifier.maxTokenSize {
		return nil, ErrMalformed
	}
	if strings.ContainsAny(signed, "\r\n") {
		return nil, ErrMalformed // stricter than golang-jwt on purpose: see jws.Split
	}
	parts := strings.Split(signed, ".")
	if len(parts) == 3 && segmentRefused(parts[0]) {
		return nil, ErrMalformed // stricter than golang-jwt on purpose: see jws.CheckJSONText
	}
	claims := jwt.MapClaims{}
	parsed, err := r.parser.ParseWithClaims(signed, claims, r.keyFunc)
	payloadRefused := len(parts) == 3 && segmentRefused(parts[1])
	if len(parts) == 3 && (payloadRefused || errors.Is(err, jwt.ErrTokenMalformed)) {
		// golang-jwt decodes the payload before it checks the signature;
		// Verify checks the signature first.
		if err := r.signatureFirst(parts); err != nil {
			return nil, err
		}
		return nil, ErrMalformed
	}
	if err != nil {
		return nil, r.parseError(parsed, err)
	}
	if _, ok := parsed.Header["crit"]; ok {
		return nil, ErrMalformed
	}
	read := readClaimsOf(claims)
	if err := read.checkTypes(m.verifier.typeRequired); err != nil {
		return nil, err
	}
	if claims["iss"] != m.issuer {
		return nil, ErrIssuer
	}
	if len(m.verifier.audience) > 0 {
		if aud, _ := claims.GetAudience(); len(aud) == 0 {
			return nil, ErrAudience
		}
	}
	if err := r.validator.Validate(claims); err != nil {
		switch {
		case errors.Is(err, jwt.ErrInvalidType), errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
			return nil, ErrMalformed
		case errors.Is(err, jwt.ErrTokenInvalidIssuer):
			return nil, ErrIssuer
		case errors.Is(err, jwt.ErrTokenInvalidAudience):
			return nil, ErrAudience
		case errors.Is(err, jwt.ErrTokenExpired):
			return nil, ErrExpired
		case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
			return nil, ErrNotYetValid
		}
		return nil, ErrMalformed
	}
	return claims, nil
}

// keyFunc selects the key as Verify does, for the Manager's algorithm only.
func (r *referenceVerifier) keyFunc(t *jwt.Token) (any, error) {
	if t.Method == nil || t.Method.Alg() != r.m.signer.alg.method.Alg() {
		return nil, errors.New("wrong algorithm")
	}
	k, err := r.m.verifier.source.verificationKey(context.Background(), &jws.Header{Fields: t.Header}, r.m.signer.alg)
	return k.key, err
}

// signatureFirst is golang-jwt's parser for the three segments of a token,
// in its order but without the payload: the sentinel of the header, the
// algorithm, the signature's encoding, its key or the signature itself that
// refuses the token, or nil when its signature verifies.
func (r *referenceVerifier) signatureFirst(parts []string) error {
	headerJSON, err := r.parser.DecodeSegment(parts[0])
	if err != nil {
		return ErrMalformed
	}
	var header map[string]any
	if err := json.Unmarshal(headerJSON, &header); err != nil {
		return ErrMalformed
	}
	alg, _ := header["alg"].(string)
	method := jwt.GetSigningMethod(alg)
	switch {
	case alg == "":
		return ErrMalformed
	case method == nil:
		return ErrAlgorithm
	}
	sig, err := r.parser.DecodeSegment(parts[2])
	if err != nil {
		return ErrMalformed
	}
	key, err := r.keyFunc(&jwt.Token{Header: header, Method: method})
	if err != nil {
		return r.parseError(&jwt.Token{Header: header}, fmt.Errorf("%w: %w", jwt.ErrTokenUnverifiable, err))
	}
	if method.Verify(parts[0]+"."+parts[1], sig, key) != nil {
		return ErrSignature
	}
	return nil
}

func (r *referenceVerifier) parseError(t *jwt.Token, err error) error {
	var ke *keyError
	if errors.As(err, &ke) {
		return ke.sentinel
	}
	var alg string
	if t != nil {
		alg, _ = t.Header["alg"].(string)
	}
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	case alg == "":
		return ErrMalformed
	case alg != r.m.signer.alg.method.Alg():
		return ErrAlgorithm
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return ErrSignature
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return ErrAlgorithm
	}
	return ErrMalformed
}

// sentinelOf returns the first of Verify's sentinels that err wraps.
func sentinelOf(err error) error {
	for _, s := range append(authenticationErrors, ErrRevoked) {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// assertMatchesReference verifies signed with m (twice, for the cache) and
// with the reference, and fails t unless they agree.
func assertMatchesReference(t *testing.T, m *Manager, ref *referenceVerifier, signed string) {
	t.Helper()
	wantClaims, wantErr := ref.verify(signed)
	wantErr = sentinelOf(wantErr)
	for call := range 2 {
		tok, err := m.Verify(context.Background(), signed)
		if got := sentinelOf(err); got != wantErr {
			t.Fatalf("call %d: Verify(%q) error = %v, golang-jwt says %v", call, signed, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(roundedNumbers(tok.Claims), map[string]any(wantClaims)) {
			t.Fatalf("call %d: Verify(%q) claims = %v, golang-jwt decodes %v", call, signed, tok.Claims, wantClaims)
		}
	}
}

// referenceCorpus returns tokens of alg signed with key, each with one
// defect (or none), for managers of testIssuer.
func referenceCorpus(tb testing.TB, alg string, key any, kid string) []string {
	now := testNow.Unix()
	hdr := func(changes map[string]any, remove ...string) map[string]any {
		h := map[string]any{"alg": alg, "typ": "JWT"}
		if kid != "" {
			h["kid"] = kid
		}
		for k, v := range changes {
			h[k] = v
		}
		for _, k := range remove {
			delete(h, k)
		}
		return h
	}
	var claimVariants []any
	for _, c := range []map[string]any{
		nil,
		{"exp": "x"}, {"exp": 0}, {"exp": -5}, {"exp": 1e300}, {"exp": float64(now) + 0.5}, {"exp": now},
		{"exp": now - 29}, {"exp": now - 30}, {"exp": now - 31}, {"exp": now + 1},
		{"iat": now + 29}, {"iat": now + 30}, {"iat": now + 31}, {"iat": "x"}, {"iat": 0}, {"iat": float64(now) + 30.9},
		{"nbf": now + 31}, {"nbf": now + 30}, {"nbf": 0}, {"nbf": "x"}, {"nbf": -1}, {"nbf": float64(now) + 30.5},
		{"nbf": now + 31, "exp": now - 31}, {"iat": now + 31, "exp": now - 31},
		{"iss": "https://other.test"}, {"iss": 5}, {"iss": ""}, {"iss": nil},
		{"type": "other"}, {"type": 5}, {"type": ""}, {"type": "refresh"},
		{"sub": 5}, {"jti": 5}, {"fam": 5}, {"sub": ""},
		{"aud": ""}, {"aud": []any{""}}, {"aud": []any{}}, {"aud": "x"}, {"aud": []any{"x", "aud1"}}, {"aud": 5},
		{"aud": []any{5}}, {"aud": "aud1"}, {"aud": []any{"", "aud2"}}, {"aud": "aud1", "exp": now - 60},
		{"aud": "x", "exp": now - 60}, {"aud": "", "exp": now - 60},
		{"scope": map[string]any{"a": []any{1.5, true, nil, "x\u00e9\u2028"}}, "custom": "\U0001F600"},
	} {
		claimVariants = append(claimVariants, claimsWith(c))
	}
	for _, remove := range []string{"exp", "iat", "iss", "type", "nbf", "sub", "jti"} {
		claimVariants = append(claimVariants, claimsWith(nil, remove))
	}
	for _, raw := range []string{
		"null", "[]", "{", `"x"`, "{}", `{"exp":1e400}`, "\xff\xfe", " ", "",
		fmt.Sprintf(`{"iss":"x","iss":%q,"iat":%d,"exp":%d,"type":"auth"}`, testIssuer, now, now+60),
		fmt.Sprintf(`{"iss":%q,"iat":%d,"exp":%d,"type":"auth"} `, testIssuer, now, now+60),
		fmt.Sprintf(`{"iss":%q,"iat":%d,"exp":%d,"type":"auth"}x`, testIssuer, now, now+60),
		fmt.Sprintf(`{"iss":%q,"iat":%d,"exp":%d,"type":"auth","s":"\xff\u0000"}`, testIssuer, now, now+60),
		fmt.Sprintf(`{"iss":%q,"iat":%d,"exp":%d,"type":"auth","s":"\ud800"}`, testIssuer, now, now+60),
		fmt.Sprintf(`{"iss":%q,"iat":%d.999999,"exp":%de0,"type":"auth","n":-0}`, testIssuer, now, now+60),
	} {
		claimVariants = append(claimVariants, []byte(raw))
	}

	var out []string
	for _, c := range claimVariants {
		out = append(out, craft(tb, alg, key, hdr(nil), c))
	}
	good := craft(tb, alg, key, hdr(nil), claimsWith(map[string]any{"aud": "aud1"}))
	for _, h := range []any{
		hdr(map[string]any{"crit": []any{"exp"}}), hdr(map[string]any{"alg": "none"}), hdr(nil, "alg"),
		hdr(map[string]any{"alg": ""}), hdr(map[string]any{"alg": 5}), hdr(map[string]any{"alg": "HS384"}),
		hdr(map[string]any{"alg": "RS512"}), hdr(map[string]any{"alg": "FOO"}), hdr(map[string]any{"kid": 5}),
		hdr(map[string]any{"kid": "unknown"}), hdr(nil, "kid"), hdr(map[string]any{"ALG": "none"}),
		[]byte("null"), []byte("[]"), []byte("{"), []byte(`{"alg":"` + alg + `","alg":"none"}`),
	} {
		if m, ok := h.(map[string]any); ok {
			out = append(out, craft(tb, alg, key, m, claimsWith(map[string]any{"aud": "aud1"})))
		}
		out = append(out, replaceSegment(good, 0, segment(tb, h)))
	}
	out = append(out,
		good, flipSignatureBit(tb, good), setTrailingBits(good), replaceSegment(good, 2, ""),
		replaceSegment(good, 2, "!!"), replaceSegment(good, 0, "!!"), replaceSegment(good, 1, "!!"),
		good+".", good[:len(good)-1], "a.b", "a.b.c.d", ".", "..", "...", "e30.e30.",
		replaceSegment(good, 1, base64.RawURLEncoding.EncodeToString([]byte("{}"))),
		unsigned(tb, "none", claimsWith(nil)),
	)
	return out
}

// TestVerifyMatchesGolangJWT checks that Verify refuses every token of a
// corpus of defects with the sentinel that golang-jwt's parser and
// validator lead to, and returns the same claims for the others: the
// decoding of its own is no looser. It runs with and without the cache,
// with and without an audience and a leeway.
func TestVerifyMatchesGolangJWT(t *testing.T) {
	cfgs := algorithmConfigs(t)
	for _, alg := range []string{"HS256", "RS256", "PS256", "ES256", "ES512", "EdDSA"} {
		for _, variant := range []struct {
			name string
			cfg  func(*Config)
			opts []Option
		}{
			{"plain", func(*Config) {}, nil},
			{"audience+leeway", func(c *Config) { c.Audience = []string{"aud1", "aud2"}; c.Leeway = 30 * time.Second }, nil},
			{"nocache+leeway", func(c *Config) { c.Leeway = 30 * time.Second }, []Option{WithVerifyCache(0)}},
			{"untyped", func(c *Config) { c.KeyID = "" }, []Option{WithUntypedTokens(Auth)}},
		} {
			if slowToSign[alg] && variant.name != "audience+leeway" {
				continue // the corpus takes seconds to sign; one variant will do
			}
			t.Run(alg+"/"+variant.name, func(t *testing.T) {
				cfg := cfgs[alg]
				variant.cfg(&cfg)
				m := newTestManager(t, cfg, variant.opts...)
				var key any = testSecret
				if cfg.PrivateKey != nil {
					key = cfg.PrivateKey
				}
				ref := newReferenceVerifier(m)
				for _, signed := range referenceCorpus(t, alg, key, cfg.KeyID) {
					assertMatchesReference(t, m, ref, signed)
				}
			})
		}
	}
}

// slowToSign are the algorithms whose signatures take milliseconds.
var slowToSign = map[string]bool{"RS256": true, "PS256": true, "ES512": true}

// FuzzVerifyMatchesGolangJWT mutates tokens and checks that Verify and
// golang-jwt's parser and validator agree on each.
func FuzzVerifyMatchesGolangJWT(f *testing.F) {
	cfg := Config{Algorithm: "HS256", Secret: testSecret, Audience: []string{"aud1"}, Leeway: 30 * time.Second}
	for _, signed := range referenceCorpus(f, "HS256", testSecret, "") {
		f.Add(signed)
	}
	m := newTestManager(f, cfg)
	ref := newReferenceVerifier(m)
	f.Fuzz(func(t *testing.T, signed string) {
		assertMatchesReference(t, m, ref, signed)
	})
}
