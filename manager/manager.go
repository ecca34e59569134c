package manager

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
	"github.com/protojwt/protojwt/internal/tokenview"
)

// Manager issues and verifies the tokens of one Config. New checks the
// Config and prepares everything a call needs, so a Manager is safe for
// concurrent use; only its keys change, swapped whole by RotateKey, AddKey
// and RemoveKey while calls go on.
type Manager struct {
	issuer        string
	audience      []string
	authMaxAge    time.Duration
	refreshMaxAge time.Duration
	alg           algorithm        // Config.Algorithm: signs; zero when a JWK Set Manager leaves it empty
	algs          []algorithm      // Config.Algorithms: what Verify accepts, never empty
	algErrors     map[string]error // refusals of tokens of other algorithms, by alg
	keys          localKeys        // signs; verifies unless the keys come from JWKSURL
	source        keySource        // selects verification keys: &keys or a *remoteKeys
	untyped       TokenType        // type of tokens without one; "" refuses them
	// accessTokenProfile accepts only RFC 9068 access tokens (typ at+jwt).
	accessTokenProfile bool
	scopeClaims        []string // Config.ScopeClaims, never empty
	jwksSettings       jwksSettings
	openCtx            context.Context // Open's context, during New only
	leeway             time.Duration   // Config.Leeway
	now                func() time.Time
	maxTokenSize       int
	revocation         revocationSettings // WithRevocation; no store by default
	events             func(Event)        // WithEvents; nil by default
	cacheSize          int                // WithVerifyCache
	cacheTTL           time.Duration      // WithVerifyCacheTTL
	cacheBytes         int64              // WithVerifyCacheBytes
	cache              *verifyCache       // nil when off
	headers            jws.HeaderCache    // decoded headers of verified tokens
	hmacs              hmacPools          // prepared HMAC keys (HS algorithms)
}

// reservedClaims are the claims a Manager sets itself; custom claims can't
// replace them.
var reservedClaims = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"type": true, "scope": true, familyClaim: true,
}

// New returns a Manager for cfg, or an error wrapping ErrConfig that says
// what can't be used: a missing Issuer or Algorithm (see Config.Algorithm
// for when it may be empty), an unknown algorithm, Algorithms that the keys
// don't all fit, an HS algorithm with a JWK Set, a negative duration, an HS
// Secret shorter than 32 bytes, a key of the wrong kind, curve or size for
// the Algorithm (RSA keys need 2048 bits), keys next to a Secret, or a
// PrivateKey and PublicKey that are not a pair. The error never contains
// the secret or the keys.
//
// A Config without PrivateKey (RS, PS, ES and EdDSA only) makes a
// verify-only Manager: Verify works, AuthToken and RefreshToken return an
// error wrapping ErrConfig. So does a Config with JWKS, JWKSURL or
// Discovery, whose keys come from a JWK Set. New fetches JWKSURL (or the
// issuer's metadata, then its jwks_uri) once within WithJWKSTimeout (Open
// takes a context too) and returns an error wrapping ErrJWKS when it
// can't; the Manager then refreshes the set in the background until Close.
func New(cfg Config, opts ...Option) (*Manager, error) {
	m := &Manager{
		issuer:        cfg.Issuer,
		audience:      slices.Clone(cfg.Audience),
		authMaxAge:    cmp.Or(cfg.AuthMaxAge, defaultAuthMaxAge),
		refreshMaxAge: cmp.Or(cfg.RefreshMaxAge, defaultRefreshMaxAge),
		now:           time.Now,
		leeway:        cfg.Leeway,
		maxTokenSize:  defaultMaxTokenSize,
		jwksSettings:  defaultJWKSSettings(),
		revocation:    revocationSettings{leeway: cfg.Leeway},
		cacheSize:     DefaultVerifyCacheSize,
		cacheTTL:      DefaultVerifyCacheTTL,
		cacheBytes:    DefaultVerifyCacheBytes,
		scopeClaims:   slices.Clone(cfg.ScopeClaims),
	}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(m)
		}
	}

	switch {
	case cfg.Issuer == "":
		return nil, configError("Issuer is required")
	case cfg.AuthMaxAge < 0, cfg.RefreshMaxAge < 0, cfg.Leeway < 0:
		return nil, configError("AuthMaxAge, RefreshMaxAge and Leeway can't be negative")
	case slices.Contains(cfg.Audience, ""):
		return nil, configError("Audience has an empty value")
	case slices.Contains(cfg.ScopeClaims, ""):
		return nil, configError("ScopeClaims has an empty name")
	case m.maxTokenSize <= 0:
		return nil, configError("WithMaxTokenSize needs a positive size")
	case m.cacheSize < 0:
		return nil, configError("WithVerifyCache can't be negative")
	case m.cacheTTL <= 0:
		return nil, configError("WithVerifyCacheTTL needs a positive TTL")
	case m.cacheBytes <= 0:
		return nil, configError("WithVerifyCacheBytes needs a positive bound")
	}
	if err := m.setAlgorithms(cfg); err != nil {
		return nil, err
	}
	if len(m.scopeClaims) == 0 {
		m.scopeClaims = defaultScopeClaims
	}
	// Last of the checks: with Config.JWKSURL it fetches the JWK Set.
	if err := m.initKeys(cfg); err != nil {
		return nil, err
	}

	m.cache = newVerifyCache(m.cacheSize, m.cacheBytes, m.cacheTTL, m.source, m.now)
	return m, nil
}

// AuthToken issues an auth token for the subject sub. scope becomes the
// "scope" claim, any value that encodes as JSON, left out when nil. claims
// are added to the token; one that the Manager sets itself (iss, sub, aud,
// exp, nbf, iat, jti, type, scope, fam) is refused with ErrReservedClaim. The
// token expires after Config.AuthMaxAge.
//
// The returned Token holds its claims as Verify would return them, decoded
// from JSON. A verify-only Manager returns an error wrapping ErrConfig.
func (m *Manager) AuthToken(sub string, scope any, claims map[string]any) (*Token, error) {
	return m.issue(Auth, m.authMaxAge, sub, scope, claims, "")
}

// RefreshToken issues a refresh token for the subject sub, with the extra
// claims as AuthToken does and no scope. The token expires after
// Config.RefreshMaxAge.
func (m *Manager) RefreshToken(sub string, claims map[string]any) (*Token, error) {
	return m.issue(Refresh, m.refreshMaxAge, sub, nil, claims, "")
}

// issue builds, signs and describes one token; a non-empty family becomes
// its "fam" claim.
func (m *Manager) issue(typ TokenType, maxAge time.Duration, sub string, scope any, custom map[string]any, family string) (*Token, error) {
	keys := m.keys.set.Load()
	if keys.signKey == nil {
		return nil, fmt.Errorf("manager: no PrivateKey, this Manager only verifies: %w", ErrConfig)
	}
	claims := make(map[string]any, len(custom)+9)
	for name, v := range custom {
		if reservedClaims[name] {
			return nil, fmt.Errorf("manager: claim %q: %w", name, ErrReservedClaim)
		}
		claims[name] = v
	}
	now := m.now()
	claims["iss"] = m.issuer
	claims["sub"] = sub
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(maxAge).Unix()
	claims["jti"] = newTokenID()
	claims["type"] = string(typ)
	if family != "" {
		claims[familyClaim] = family
	}
	switch len(m.audience) {
	case 0:
	case 1:
		claims["aud"] = m.audience[0]
	default:
		claims["aud"] = m.audience
	}
	if !isNil(scope) {
		claims["scope"] = scope
	}

	payload, err := json.Marshal(claims)
	if err != nil {
		return nil, fmt.Errorf("manager: claims are not JSON: %w", err)
	}
	if _, err := jws.CheckJSONText(payload); err != nil {
		return nil, fmt.Errorf("manager: claims Verify would refuse: %w", err) // nested too deep
	}
	signingString := keys.header + base64.RawURLEncoding.EncodeToString(payload)
	sig, err := m.alg.method.Sign(signingString, keys.signKey)
	if err != nil {
		return nil, fmt.Errorf("manager: sign %s token: %w", m.alg.method.Alg(), err)
	}
	signed := signingString + "." + base64.RawURLEncoding.EncodeToString(sig)
	if len(signed) > m.maxTokenSize {
		return nil, fmt.Errorf("manager: token of %d bytes is over the %d bytes Verify accepts", len(signed), m.maxTokenSize)
	}

	decoded, err := jws.DecodeClaims(payload)
	if err != nil {
		return nil, fmt.Errorf("manager: decode own claims: %w", err)
	}
	return m.newToken(decoded, signed), nil
}

// newToken describes a token whose claims have been checked: exp and iat
// are numbers, type is a string, iss, sub and jti are strings when
// present. claims becomes the private view of the token's Manager, and the
// Token gets a deep copy of its own for handlers; a token without a type
// claim is of the WithUntypedTokens type.
func (m *Manager) newToken(claims map[string]any, signed string) *Token {
	typ, _ := claims["type"].(string)
	if typ == "" {
		typ = string(m.untyped)
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	id, _ := claims["jti"].(string)
	family, _ := claims[familyClaim].(string)
	if family == "" && TokenType(typ) == Refresh {
		family = id
	}
	// One allocation for the Token and its state.
	both := &struct {
		tok Token
		st  tokenState
	}{}
	st := &both.st
	*st = tokenState{
		view: tokenview.View{
			Type:    typ,
			Issuer:  iss,
			Subject: sub,
			Claims:  claims,
			Scope:   claims["scope"],
			Grants:  m.grants(claims),
		},
		id:       id,
		family:   family,
		issuedAt: numericDate(claims["iat"]),
		until:    validatorTime(claims["exp"]).Add(m.leeway),
	}
	own, _ := copyJSON(claims, &st.size).(map[string]any)
	both.tok = Token{
		Type:      TokenType(typ),
		Subject:   sub,
		Issuer:    iss,
		Scope:     own["scope"],
		Claims:    own,
		Signed:    signed,
		ID:        id,
		IssuedAt:  st.issuedAt,
		ExpiresAt: numericDate(claims["exp"]),
		state:     st,
	}
	tokenview.Fill(&both.tok.viewSlot, &st.view)
	return &both.tok
}

// Estimated heap bytes of decoded JSON, for the verification cache's byte
// bound: measured with Go 1.26 for maps of a few to hundreds of members.
const (
	mapBytes      = 48  // a map's header
	smallMapBytes = 320 // a map of 1 to 8 members: its header and one group
	mapEntryBytes = 40  // a member of a larger map, with the groups' spare room
	sliceBytes    = 24  // a slice's header, boxed in an interface
	elemBytes     = 16  // an element of []any
	boxBytes      = 16  // a string's header or a number, boxed
)

// mapCost is the estimated heap bytes of a map[string]any of n members.
func mapCost(n int) int {
	switch {
	case n == 0:
		return mapBytes
	case n <= 8:
		return smallMapBytes
	}
	return 2*mapBytes + mapEntryBytes*n
}

// copyJSON returns a deep copy of v, a decoded JSON value: objects and
// arrays are copied, other values are immutable and shared. It adds to
// *size an estimate of the heap that v and its copy hold together.
func copyJSON(v any, size *int) any {
	switch v := v.(type) {
	case map[string]any:
		if v == nil {
			return v
		}
		*size += 2 * mapCost(len(v))
		out := make(map[string]any, len(v))
		for k, e := range v {
			*size += len(k)
			out[k] = copyJSON(e, size)
		}
		return out
	case []any:
		if v == nil {
			return v
		}
		*size += 2 * (sliceBytes + elemBytes*len(v))
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyJSON(e, size)
		}
		return out
	case string:
		*size += boxBytes + len(v)
	case json.Number:
		*size += boxBytes + len(v)
	case float64:
		*size += boxBytes
	}
	return v
}

// numericDate converts a JSON NumericDate, seconds since the epoch, to a
// time in UTC.
func numericDate(v any) time.Time {
	f, _ := v.(float64)
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC()
}

// newTokenID returns 128 random bits, base64url encoded: a jti.
func newTokenID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; crashes the program if randomness is unavailable
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// isNil reports whether v is nil or a nil map, slice or pointer, which would
// encode as JSON null.
func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// checkKeyOptions reports an option New can't use.
func (m *Manager) checkKeyOptions() error {
	s := m.jwksSettings
	switch {
	case m.untyped != "" && m.untyped != Auth && m.untyped != Refresh:
		return configError(`WithUntypedTokens needs "auth" or "refresh"`)
	case s.maxAge < 0:
		return configError("WithJWKSMaxAge can't be negative")
	case s.refreshInterval <= 0:
		return configError("WithJWKSRefreshInterval needs a positive interval")
	case s.unknownKIDEvery < 0:
		return configError("WithJWKSRefreshUnknownKID can't be negative")
	case s.timeout <= 0:
		return configError("WithJWKSTimeout needs a positive timeout")
	}
	return nil
}

// grants returns the values of the claims that grant scope names
// (Config.ScopeClaims), those present, for the rule engine.
func (m *Manager) grants(claims map[string]any) []any {
	var out []any
	for _, name := range m.scopeClaims {
		if v, ok := claims[name]; ok && v != nil {
			out = append(out, v)
		}
	}
	return out
}
