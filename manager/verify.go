package manager

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/protojwt/protojwt/internal/jws"
)

// verifier verifies tokens: their signature with the keys of a keySource,
// then their claims, and keeps those that verified in its cache. Revocation
// is the sessions' to answer.
type verifier struct {
	issuer             string
	audience           []string         // Config.Audience
	algs               []algorithm      // Config.Algorithms: what Verify accepts, never empty
	algErrors          map[string]error // refusals of tokens of other algorithms, by alg
	source             keySource        // selects verification keys: the Manager's own or a fetched JWK Set
	typeRequired       bool             // no WithUntypedTokens: a token without type is refused
	accessTokenProfile bool             // only RFC 9068 access tokens (typ at+jwt)
	leeway             time.Duration    // Config.Leeway
	now                func() time.Time
	maxTokenSize       int
	describe           describer
	sessions           *sessions
	cache              *verifyCache    // nil when off
	headers            jws.HeaderCache // decoded headers of verified tokens
	hmacs              hmacPools       // prepared HMAC keys (HS algorithms)
}

// maxNumericDate is the last second of the year 9999: a larger exp, iat or
// nbf is not a time but an attempt to overflow one.
const maxNumericDate = 253402300799

// Verify checks the compact JWS signed and returns the token it carries,
// with every field filled and Signed set to signed. It refuses, with an
// error wrapping one of the sentinels:
//
//   - an empty signed: ErrNoToken;
//   - a token over the size bound (see WithMaxTokenSize), checked before any
//     decoding, or not three segments, or with a CR or LF, which base64
//     decoders skip: ErrMalformed;
//   - a header that is not base64url of a JSON object, or that JSON parsers
//     may read differently or that is costly to decode (bytes that are not
//     UTF-8 or an escaped lone UTF-16 surrogate, nesting deeper than 64
//     levels, a member name twice), or without alg: ErrMalformed;
//   - an algorithm not in Config.Algorithms, "none" included: ErrAlgorithm,
//     whose text names the token's algorithm (when this package knows it)
//     and the accepted ones;
//   - a signature segment that is not base64url: ErrMalformed;
//   - once the Manager knows its keys by ID (see RotateKey), a kid header
//     that is not a string: ErrMalformed; a kid naming no key (absent names
//     the key without ID): ErrSignature; a key whose kind or curve does not
//     fit the token's algorithm (an RSA key and an ES256 token), or a JWK
//     whose use or alg does not: ErrAlgorithm;
//   - a signature the configured key does not verify: ErrSignature;
//   - then, and only then, the payload: not base64url of a JSON object, or
//     JSON refused as the header's is (two "sub" claims, ...), or a "crit"
//     header: ErrMalformed;
//   - a missing exp, iat, iss or type claim (an empty string is missing;
//     type may be missing with WithUntypedTokens or WithAccessTokenProfile,
//     which the error of a missing type names), a
//     type other than "auth" or "refresh", or a claim of the wrong JSON type
//     (exp, iat and nbf are numbers, within the years 1970 to 9999; iss,
//     sub, jti, type and fam are strings; aud is a string or an array of
//     strings): ErrMalformed;
//   - an iss other than Config.Issuer: ErrIssuer;
//   - when Config.Audience is set, an aud naming none of it: ErrAudience;
//   - an exp in the past: ErrExpired;
//   - an nbf or iat in the future: ErrNotYetValid;
//   - with a revocation store (WithRevocation), a token revoked by id, by
//     family or by subject: ErrRevoked; a store that can't answer:
//     ErrRevocationUnavailable, unless WithRevocationFailOpen; a ctx that
//     ends before the store answers: ErrRevocationUnavailable wrapped with
//     ctx's error, even with WithRevocationFailOpen.
//
// Times are compared with Config.Leeway of tolerance. The checks run in this
// order and the first failure decides: a token with two defects gets the
// error of the first. In particular the signature is checked before the
// payload is even decoded, so that a forged token costs no decoding of its
// claims: a token whose signature does not verify is [ErrSignature] (or
// [ErrAlgorithm], or [ErrMalformed] for its header) whatever its payload holds.
// Verify does not check the token's type against a rule; [ErrTokenType] is
// the rule engine's. The error never contains the token.
//
// The revocation store is asked last, with ctx, so that only tokens that
// verify reach it; without a store, revocation costs nothing.
//
// A token that verified is kept in the Manager's verification cache (see
// [WithVerifyCache], on by default): presented again, it is not decoded nor
// its signature checked again, but its times are, and the revocation store
// is asked as above. The *Token returned is then the one returned before:
// callers must treat every Token that Verify returns as read-only.
func (m *Manager) Verify(ctx context.Context, signed string) (*Token, error) {
	return m.verifier.verify(ctx, signed)
}

// errNotCompact refuses a token that is no compact JWS.
var errNotCompact = verifyError("not a compact JWS", ErrMalformed)

// verify is Verify.
func (v *verifier) verify(ctx context.Context, signed string) (*Token, error) {
	if signed == "" {
		return nil, fmt.Errorf("manager: verify: %w", ErrNoToken)
	}
	if len(signed) > v.maxTokenSize {
		return nil, verifyError(fmt.Sprintf("token is over %d bytes", v.maxTokenSize), ErrMalformed)
	}
	var hash uint64
	hashed := false
	switch {
	case v.cache == nil:
	case v.cache.mayHold(signed):
		hash, hashed = v.cache.hash(signed), true
		if e := v.cache.lookup(hash, signed); e != nil {
			if err := v.sessions.checkRevoked(ctx, e.tok); err != nil {
				return nil, err
			}
			return e.tok, nil
		}
	default:
		v.cache.miss()
	}
	if jws.RefusedByPrefix(signed) {
		// Random text, from its first characters: what checkSignature
		// would say after scanning all of it.
		return nil, errNotCompact
	}
	st, err := v.checkSignature(ctx, signed)
	if err != nil {
		return nil, err
	}
	// Only a token whose signature verified has its claims decoded.
	var payload jws.Payload
	if err := jws.DecodePayload(st.parts.Payload, &payload); err != nil {
		return nil, verifyError("payload is not JSON claims in base64url", ErrMalformed)
	}
	if st.header.Crit {
		return nil, verifyError("crit header is not supported", ErrMalformed)
	}
	claims, members := payload.Claims, payload.Members()
	read := readClaimsIn(members)
	if err := read.checkTypes(v.typeRequired); err != nil {
		return nil, err
	}
	if read.iss.v != v.issuer {
		return nil, verifyError("iss is not the configured issuer", ErrIssuer)
	}
	if err := v.checkAudience(read.aud.v); err != nil {
		return nil, err
	}
	from, until, err := v.checkTimes(&read)
	if err != nil {
		return nil, err
	}
	tok := v.describe.token(claims, members, &read, signed)
	if err := v.sessions.checkRevoked(ctx, tok); err != nil {
		return nil, err
	}
	if v.cache != nil {
		if !hashed {
			hash = v.cache.hash(signed)
		}
		e := &cacheEntry{
			hash:   hash,
			signed: signed,
			tok:    tok,
			state:  tok.state,
			key:    st.key,
			header: st.header,
			from:   from,
			until:  until,
			cost:   int64(len(signed) + tok.state.size + entryBytes),
		}
		e.keyChecked.Store(st.key.fetch)
		v.cache.add(e)
	}
	return tok, nil
}

// checkAudience checks aud, a string or an array of strings or absent,
// against Config.Audience when it is set, with golang-jwt's validator's
// outcome: no audience is [ErrAudience]; a lone empty string, a missing
// required claim for golang-jwt, is [ErrMalformed]; no value in
// Config.Audience is [ErrAudience].
func (v *verifier) checkAudience(aud any) error {
	if len(v.audience) == 0 {
		return nil
	}
	n, first, match := 0, "", false
	switch aud := aud.(type) {
	case string:
		n, first, match = 1, aud, slices.Contains(v.audience, aud)
	case []any:
		n = len(aud)
		for i, e := range aud {
			s, _ := e.(string)
			if i == 0 {
				first = s
			}
			match = match || slices.Contains(v.audience, s)
		}
	}
	switch {
	case n == 0:
		return verifyError("aud claim missing", ErrAudience)
	case n == 1 && first == "":
		return verifyError("claims can't be validated", ErrMalformed)
	case !match:
		return verifyError("aud names no configured audience", ErrAudience)
	}
	return nil
}

// checkTimes checks exp, nbf and iat, whose types checkTypes checked,
// against the clock with Config.Leeway, as golang-jwt's validator does
// (times truncated to [jwt.TimePrecision], nbf 0 absent), and returns the
// interval in which the token is valid: from its start (inclusive) until
// its end (exclusive).
func (v *verifier) checkTimes(read *readClaims) (from, until time.Time, err error) {
	now := v.now()
	until = validatorTime(read.exp.v).Add(v.leeway)
	from = validatorTime(read.iat.v)
	nbf, _ := read.nbf.v.(float64)
	var notBefore time.Time // nbf's time, when nbf is not 0
	if nbf != 0 {
		if notBefore = validatorTime(nbf); notBefore.After(from) {
			from = notBefore
		}
	}
	from = from.Add(-v.leeway)
	switch {
	case !now.Before(until):
		return from, until, verifyError("exp has passed", ErrExpired)
	case now.Before(from):
		if nbf != 0 && now.Before(notBefore.Add(-v.leeway)) {
			return from, until, verifyError("nbf is in the future", ErrNotYetValid)
		}
		return from, until, verifyError("iat is in the future", ErrNotYetValid)
	}
	return from, until, nil
}

// validatorTime converts a NumericDate as golang-jwt's validator does. A
// whole number of seconds, what tokens hold, is a multiple of a precision
// that divides a second: truncating it changes nothing, and costs a
// division.
func validatorTime(v any) time.Time {
	f, _ := v.(float64)
	if sec := int64(f); float64(sec) == f && wholeSecondsKept(jwt.TimePrecision) {
		return time.Unix(sec, 0)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).Truncate(jwt.TimePrecision)
}

// wholeSecondsKept reports whether truncating to precision d keeps every
// whole number of seconds, as [time.Time.Truncate] does for d <= 0 and
// for a d that divides a second.
func wholeSecondsKept(d time.Duration) bool {
	return d <= 0 || d <= time.Second && time.Second%d == 0
}

// errTypeMissing refuses a token without a type claim, which this
// package's tokens have and an identity provider's lack: the hint names
// the options that accept those.
var errTypeMissing = verifyError("type claim missing (a token of an identity provider? "+
	"WithAccessTokenProfile accepts its RFC 9068 access tokens, WithUntypedTokens any token without type)", ErrMalformed)

// isAudience reports whether v, decoded JSON, is a string or an array of
// strings.
func isAudience(v any) bool {
	switch v := v.(type) {
	case string:
		return true
	case []any:
		for _, s := range v {
			if _, ok := s.(string); !ok {
				return false
			}
		}
		return true
	}
	return false
}
