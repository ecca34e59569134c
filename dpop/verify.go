package dpop

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/protojwt/protojwt/internal/jws"
)

// Call is what a proof is made for and checked against: the request's
// method and URL, and the access token sent with it.
type Call struct {
	// Method is the HTTP method: "POST" for gRPC and connect.
	Method string
	// URL is the request's URL; its query and fragment are ignored. For
	// gRPC and connect, [MethodURL] or [BaseURL.MethodURL].
	URL string
	// AccessToken is the token the proof accompanies, whose hash is the
	// proof's ath; empty when none is sent (a token request).
	AccessToken string
}

// Proof is a DPoP proof that passed every check.
type Proof struct {
	// Thumbprint is the RFC 7638 thumbprint of the proof's key: the cnf.jkt
	// of a token bound to it.
	Thumbprint string
	// PublicKey is the proof's key: *[ecdsa.PublicKey], *[rsa.PublicKey] or
	// [ed25519.PublicKey].
	PublicKey crypto.PublicKey
	// Algorithm is the proof's JWS alg.
	Algorithm string
	// ID is the proof's jti.
	ID string
	// IssuedAt is the proof's iat.
	IssuedAt time.Time
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is safe for concurrent
// use; make one per server with [NewVerifier].
type Verifier struct {
	algs    map[string]*algorithm
	maxAge  time.Duration
	leeway  time.Duration
	maxSize int
	replay  ReplayCache
	nonces  *NonceSource
	now     func() time.Time
	// systemClock is set while now is time.Now: a MemoryReplayCache given
	// with WithReplayCache then takes its reading rather than read the
	// clock again.
	systemClock bool
	headers     *textCache[*header]
	// tokenHashes keeps the ath of recent access tokens: a client sends
	// one token with many proofs.
	tokenHashes *textCache[tokenHash]
}

// Defaults of a [Verifier].
const (
	// DefaultMaxAge is how old a proof's iat may be.
	DefaultMaxAge = 5 * time.Minute
	// DefaultLeeway is how far in the future a proof's iat may be, for
	// clients whose clocks run ahead.
	DefaultLeeway = time.Minute
	// DefaultMaxProofSize bounds a proof before it is parsed.
	DefaultMaxProofSize = 8 << 10
)

// NewVerifier returns a proof verifier.
func NewVerifier(opts ...Option) (*Verifier, error) {
	v := &Verifier{
		algs:        algorithms,
		maxAge:      DefaultMaxAge,
		leeway:      DefaultLeeway,
		maxSize:     DefaultMaxProofSize,
		now:         time.Now,
		systemClock: true,
		headers:     newTextCache[*header](headerCacheBytes),
		tokenHashes: newTextCache[tokenHash](tokenHashCacheBytes),
	}
	for _, o := range opts {
		if err := o.apply(v); err != nil {
			return nil, err
		}
	}
	if v.replay == nil {
		v.replay = newPrivateReplayCache()
	}
	return v, nil
}

// Nonce returns the nonce a client must put in its next proof, for the
// DPoP-Nonce header of a response: the current nonce of the NonceSource
// given with [WithNonces], or "" when the Verifier requires none.
func (v *Verifier) Nonce() string {
	if v.nonces == nil {
		return ""
	}
	return v.nonces.Nonce()
}

// ProofFrom returns the one proof of a request's DPoP header values
// ([http.Header].Values("DPoP"), or gRPC metadata "dpop"): none or an empty
// one is [ErrProofMissing], several (or one holding a comma, as joined
// headers are) [ErrProofInvalid].
func ProofFrom(values []string) (string, error) {
	switch {
	case len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "":
		return "", ErrProofMissing
	case len(values) > 1 || strings.Contains(values[0], ","):
		return "", invalid(errValues)
	}
	return strings.TrimSpace(values[0]), nil
}

// Verify checks a proof for a call. jkt is the cnf.jkt of the access token
// (see [BindingOf]), which the proof's key must have; empty skips that
// check, as at a token endpoint, where the proof introduces its key. It
// returns the proof, or an error wrapping [ErrProofMissing] (proof empty)
// or [ErrProofInvalid] (and [ErrUseNonce] for a missing or old nonce), or
// the replay cache's error.
//
// The checks, in order: size; compact JWS syntax; header typ dpop+jwt, an
// accepted asymmetric alg, no crit, a public jwk fitting alg; the
// signature; claims jti, htm, htu, iat, ath, nonce; the key's thumbprint;
// and last, that the jti (with the key) was not seen before.
func (v *Verifier) Verify(ctx context.Context, proof string, call Call, jkt string) (p *Proof, err error) {
	// Small enough to inline: a caller that drops the Proof keeps it on
	// its stack.
	p = new(Proof)
	if err = v.verify(ctx, proof, &call, jkt, p); err != nil {
		p = nil
	}
	return p, err
}

// verify is [Verifier.Verify], filling in p.
func (v *Verifier) verify(ctx context.Context, proof string, call *Call, jkt string, p *Proof) error {
	h, payload, err := v.parse(proof)
	if err != nil {
		return err
	}
	// The signing input and the signature are read in place: the hash and
	// the decoder only read them.
	dot2 := strings.LastIndexByte(proof, '.')
	var sigBuf [512]byte
	var sig []byte
	if n := b64.DecodedLen(len(proof) - dot2 - 1); n <= len(sigBuf) {
		sig = sigBuf[:n]
	} else {
		sig = make([]byte, n)
	}
	n, err := b64.Decode(sig, jws.StringBytes(proof[dot2+1:]))
	if err != nil {
		return invalid(errEncoding)
	}
	if !h.alg.verify(h.pub, jws.StringBytes(proof[:dot2]), sig[:n]) {
		return invalid(errSignature)
	}
	return v.checkClaims(ctx, h, payload, call, jkt, p)
}

// parse checks a proof's size and syntax and its header, returning the
// header and the claims segment.
func (v *Verifier) parse(proof string) (*header, string, error) {
	if proof == "" {
		return nil, "", ErrProofMissing
	}
	if len(proof) > v.maxSize {
		return nil, "", invalid(errSize)
	}
	dot1 := strings.IndexByte(proof, '.')
	dot2 := strings.LastIndexByte(proof, '.')
	if dot1 <= 0 || dot2 == dot1 || dot2 == len(proof)-1 || strings.IndexByte(proof[dot1+1:dot2], '.') >= 0 {
		return nil, "", invalid(errSyntax)
	}
	h, err := v.header(proof[:dot1])
	if err != nil {
		return nil, "", invalid(err)
	}
	return h, proof[dot1+1 : dot2], nil
}

// checkClaims checks the claims of a proof whose signature verified, then
// records it in the replay cache, and fills in p.
func (v *Verifier) checkClaims(ctx context.Context, h *header, payload string, call *Call, jkt string, p *Proof) error {
	// The claims are parts of buf: those that outlive this call are copied.
	var buf [1024]byte
	c, err := decodeClaims(payload, buf[:])
	if err != nil {
		return invalid(err)
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return invalid(errJTI)
	}
	if c.HTM != call.Method || c.HTM == "" {
		return invalid(errHTM)
	}
	if !sameURL(c.HTU, call.URL) {
		return invalid(errHTU)
	}
	now := v.now()
	iat, ok := c.issuedAt()
	if !ok || iat.Before(now.Add(-v.maxAge)) || iat.After(now.Add(v.leeway)) {
		return invalid(errIAT)
	}
	if call.AccessToken != "" && !v.tokenHashIs(call.AccessToken, c.ATH) {
		return invalid(errATH)
	}
	if v.nonces != nil && !v.nonces.Valid(c.Nonce) {
		return fmt.Errorf("%w: %w: %w", ErrProofInvalid, ErrUseNonce, errNonce)
	}
	if jkt != "" && !equalSecret(jkt, h.jkt) {
		return invalid(errJKT)
	}
	seen, err := v.seen(ctx, h.jkt, c.JTI, iat.Add(v.maxAge), now)
	if err != nil {
		return fmt.Errorf("dpop: replay cache: %w", err)
	}
	if seen {
		return invalid(errReplay)
	}
	*p = Proof{Thumbprint: h.jkt, PublicKey: h.pub, Algorithm: h.alg.name, ID: strings.Clone(c.JTI), IssuedAt: iat}
	return nil
}

// tokenHash is the ath of an access token: the base64url SHA-256 of its
// ASCII text (RFC 9449 §4.2).
type tokenHash [43]byte // b64.EncodedLen(sha256.Size)

// tokenHashIs reports whether ath is the hash of an access token, compared
// in constant time. The hash of a token is kept, by the token's exact
// text, for the next proofs that come with it.
func (v *Verifier) tokenHashIs(token, ath string) bool {
	want, ok := v.tokenHashes.get(token)
	if !ok {
		sum := sha256.Sum256(jws.StringBytes(token))
		b64.Encode(want[:], sum[:])
		v.tokenHashes.put(token, want)
	}
	return len(ath) == len(want) && subtle.ConstantTimeCompare(jws.StringBytes(ath), want[:]) == 1
}

// equalSecret compares two strings in constant time for their length.
func equalSecret(a, b string) bool {
	return subtle.ConstantTimeCompare(jws.StringBytes(a), jws.StringBytes(b)) == 1
}

// seen records a proof of key jkt with jti in the replay cache and
// reports whether it was there. A [MemoryReplayCache] takes its entry key
// directly (see privateKey for the one a Verifier makes itself), and the
// time the verifier read, now, when it is the Verifier's own or both read
// the system clock; another cache gets the replay digest in base64url, as
// [ReplayCache] says.
func (v *Verifier) seen(ctx context.Context, jkt, jti string, expires, now time.Time) (bool, error) {
	m, ok := v.replay.(*MemoryReplayCache)
	if !ok {
		d := replayDigest(jkt, jti)
		return v.replay.Seen(ctx, b64.EncodeToString(d[:]), expires)
	}
	if m.now != nil || !m.private && !v.systemClock {
		now = m.clock() // the cache keeps its own time
	}
	var k entryKey
	if m.private {
		k = m.privateKey(jkt, jti)
	} else {
		d := replayDigest(jkt, jti)
		k = entryKey(d[:len(k)])
	}
	return m.seenKey(k, expires, now)
}

// replayDigest is the replay cache's key for a proof: a digest of its
// key's thumbprint and its jti, so that one client's jti never collides
// with another's and every id has the same size.
func replayDigest(jkt, jti string) replayKey {
	var buf [320]byte
	in := append(append(append(buf[:0], jkt...), 0), jti...)
	return sha256.Sum256(in)
}

// header is a proof header that passed its checks.
type header struct {
	alg *algorithm
	pub crypto.PublicKey
	jkt string
}

// rawHeader is a proof's JOSE header as JSON.
type rawHeader struct {
	Typ  string          `json:"typ"`
	Alg  string          `json:"alg"`
	JWK  *jwk            `json:"jwk"`
	Crit json.RawMessage `json:"crit"`
}

// header checks a proof's header segment. A client sends the same header
// with every proof, so a checked header is kept, by its exact text, in a
// bounded cache: the next proof skips decoding the JSON and the key.
func (v *Verifier) header(seg string) (*header, error) {
	if h, ok := v.headers.get(seg); ok {
		return h, nil
	}
	raw, ok := decodeB64(seg)
	if !ok {
		return nil, errEncoding
	}
	var rh rawHeader
	if err := json.Unmarshal(raw, &rh); err != nil {
		return nil, errJSON
	}
	if !strings.EqualFold(rh.Typ, "dpop+jwt") {
		return nil, errTyp
	}
	alg, ok := v.algs[rh.Alg]
	if !ok {
		return nil, errAlg
	}
	if rh.Crit != nil {
		return nil, errCrit
	}
	if rh.JWK == nil {
		return nil, errJWK
	}
	pub, err := rh.JWK.publicKey()
	if err != nil {
		return nil, err
	}
	if !alg.fits(pub) {
		return nil, errAlg
	}
	jkt, err := Thumbprint(pub)
	if err != nil {
		return nil, errJWK
	}
	h := &header{alg: alg, pub: pub, jkt: jkt}
	v.headers.put(seg, h)
	return h, nil
}
