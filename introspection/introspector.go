package introspection

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/protojwt/protojwt/manager"
)

// ErrInactive means the endpoint answered that the token is not active:
// unknown, expired, revoked, or not for this client. Adapters answer it as
// an invalid token (TOKEN_INVALID).
var ErrInactive = errors.New("protojwt: token not active")

// errUnavailable is an error wrapping [manager.ErrKeysUnavailable]: the
// endpoint could not judge the token now.
func errUnavailable(format string, args ...any) error {
	return fmt.Errorf("introspection: "+format+": %w", append(args, manager.ErrKeysUnavailable)...)
}

// Introspector verifies opaque tokens at an RFC 7662 introspection
// endpoint. It is a [manager.Verifier], safe for concurrent use.
type Introspector struct {
	endpoint string
	issuer   string
	audience []string
	auth     clientAuth
	set      settings
	cache    *cache
	hash     hasher

	slots chan struct{} // one per request in flight (WithMaxInFlight)

	mu      sync.Mutex
	flights map[key]*flight
}

var _ manager.Verifier = (*Introspector)(nil)

// flight is one request to the endpoint, shared by every caller that
// presents the same token meanwhile.
type flight struct {
	done chan struct{}
	tok  *manager.Token
	err  error
}

// New returns an Introspector of cfg. With no Endpoint, it discovers the
// endpoint from cfg.Issuer's metadata within ctx (and [WithTimeout]), and
// fails when it can't. A Config it can't use is an error wrapping
// [manager.ErrConfig]: no ClientID, neither or both of ClientSecret and
// PrivateKey, an Algorithm that does not fit PrivateKey, an Endpoint or
// Issuer that is not https (plain http is allowed on loopback only).
func New(ctx context.Context, cfg Config, opts ...Option) (*Introspector, error) {
	set := defaults()
	for _, o := range opts {
		o.apply(&set)
	}
	switch {
	case set.cacheTTL < 0 || set.inactiveTTL < 0 || set.cacheBytes < 0:
		return nil, configError("cache settings can't be negative")
	case set.maxResponse <= 0 || set.timeout <= 0 || set.maxTokenSize <= 0 || set.maxInFlight <= 0:
		return nil, configError("WithMaxResponseBytes, WithTimeout, WithMaxTokenSize and WithMaxInFlight must be positive")
	case set.client == nil || set.now == nil:
		return nil, configError("WithHTTPClient and WithClock need a value")
	case cfg.Endpoint == "" && cfg.Issuer == "":
		return nil, configError("Endpoint or Issuer (to discover it) is required")
	}
	// Redirects are not followed: a 307 would send the token and the
	// client's credentials to wherever the endpoint points.
	client := *set.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	set.client = &client
	endpoint := cfg.Endpoint
	if endpoint != "" {
		if err := checkURL("Endpoint", endpoint); err != nil {
			return nil, err
		}
	}
	audience := cfg.Issuer
	if audience == "" {
		audience = endpoint
	}
	auth, err := newClientAuth(cfg, audience)
	if err != nil {
		return nil, err
	}
	if endpoint == "" {
		ctx, cancel := context.WithTimeout(ctx, set.timeout)
		defer cancel()
		if endpoint, err = discover(ctx, set.client, cfg.Issuer); err != nil {
			return nil, err
		}
	}
	return &Introspector{
		endpoint: endpoint,
		issuer:   cfg.Issuer,
		audience: slices.Clone(cfg.Audience),
		auth:     auth,
		set:      set,
		cache:    newCache(set.cacheBytes),
		hash:     newHasher(),
		slots:    make(chan struct{}, set.maxInFlight),
		flights:  make(map[key]*flight),
	}, nil
}

// MaxTokenSize returns the longest token Verify sends to the endpoint
// ([WithMaxTokenSize]): the adapters refuse a longer bearer value by its
// length, before reading it.
func (in *Introspector) MaxTokenSize() int { return in.set.maxTokenSize }

// Endpoint returns the introspection endpoint's URL, given or discovered.
func (in *Introspector) Endpoint() string { return in.endpoint }

// Verify returns the Token of an active token, from the cache or the
// endpoint. Its errors wrap: [manager.ErrMalformed] (an empty or oversized
// token, or one with characters no token has: no request is made),
// [ErrInactive] (the endpoint says it is not active), [manager.ErrExpired] and
// [manager.ErrNotYetValid] (its exp or nbf), [manager.ErrIssuer] (an answer of
// another issuer than Config.Issuer), [manager.ErrAudience] (for none of
// Config.Audience), [manager.ErrKeysUnavailable] (the endpoint could not be
// reached, answered an error, or an answer too large or not JSON: retry
// later), or ctx's error when ctx ends first. Errors never hold the token.
func (in *Introspector) Verify(ctx context.Context, token string) (*manager.Token, error) {
	if err := checkToken(token, in.set.maxTokenSize); err != nil {
		return nil, err
	}
	k := in.hash.key(token)
	now := in.set.now()
	if a, ok := in.cache.get(k, now); ok {
		return judge(a, now)
	}
	in.mu.Lock()
	f, ok := in.flights[k]
	if !ok {
		// A flight that ended since the lookup above has cached its answer.
		if a, ok := in.cache.get(k, now); ok {
			in.mu.Unlock()
			return judge(a, now)
		}
		f = &flight{done: make(chan struct{})}
		in.flights[k] = f
		go in.fly(k, f, token)
	}
	in.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("introspection: %w", ctx.Err())
	}
}

// judge returns a cached answer's result, checking the token's expiry
// again: an answer is cached no longer than its exp, but now has moved.
func judge(a answer, now time.Time) (*manager.Token, error) {
	if a.err != nil {
		return nil, a.err
	}
	if a.tok.Expired(now) {
		return nil, errExpired
	}
	return a.tok, nil
}

// fly asks the endpoint about token, caches the answer, and releases the
// callers waiting on f. It runs on its own, within [WithTimeout]: a caller
// that stops waiting does not cancel the request of the others.
func (in *Introspector) fly(k key, f *flight, token string) {
	ctx, cancel := context.WithTimeout(context.Background(), in.set.timeout)
	defer cancel()
	var a answer
	var err error
	select {
	case in.slots <- struct{}{}:
		a, err = in.introspect(ctx, token)
		<-in.slots
	case <-ctx.Done():
		err = errUnavailable("more than %d requests in flight", cap(in.slots))
	}
	if err == nil {
		now := in.set.now()
		in.cache.put(k, a, now)
		f.tok, f.err = judge(a, now)
	} else {
		f.err = err
	}
	in.mu.Lock()
	delete(in.flights, k)
	in.mu.Unlock()
	close(f.done)
}

// checkToken refuses what no token is, before any request: empty, longer
// than max, or with a character outside RFC 6750's b64token.
func checkToken(token string, max int) error {
	switch {
	case token == "":
		return fmt.Errorf("introspection: empty token: %w", manager.ErrMalformed)
	case len(token) > max:
		return fmt.Errorf("introspection: token longer than %d bytes: %w", max, manager.ErrMalformed)
	}
	for i := 0; i < len(token); i++ {
		if !tokenChars[token[i]] {
			return fmt.Errorf("introspection: token has a character no token has: %w", manager.ErrMalformed)
		}
	}
	return nil
}

// tokenChars are the characters of RFC 6750's b64token.
var tokenChars = func() (t [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/=") {
		t[c] = true
	}
	return t
}()

var (
	errExpired  = fmt.Errorf("introspection: token expired: %w", manager.ErrExpired)
	errNotYet   = fmt.Errorf("introspection: token not valid yet: %w", manager.ErrNotYetValid)
	errIssuer   = fmt.Errorf("introspection: the answer is of another issuer: %w", manager.ErrIssuer)
	errAudience = fmt.Errorf("introspection: the token is for another audience: %w", manager.ErrAudience)
	errInactive = fmt.Errorf("introspection: %w", ErrInactive)
)

// introspect asks the endpoint about token and returns its answer, to
// cache: an active token's, or [ErrInactive]. An error is an outage or a
// bad answer, never cached.
func (in *Introspector) introspect(ctx context.Context, token string) (answer, error) {
	now := in.set.now()
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.endpoint, nil)
	if err != nil {
		return answer{}, errUnavailable("request: %v", err)
	}
	if err := in.auth.authenticate(req, form, now); err != nil {
		return answer{}, errUnavailable("%v", err)
	}
	body := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(body)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := in.set.client.Do(req)
	if err != nil {
		// The [url.Error] names the endpoint, not the token, which is in the
		// body.
		return answer{}, errUnavailable("endpoint unreachable: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
			return answer{}, errUnavailable("the endpoint refused this client's credentials (status %d)", resp.StatusCode)
		}
		return answer{}, errUnavailable("the endpoint answered status %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, in.set.maxResponse+1))
	if err != nil {
		return answer{}, errUnavailable("reading the answer: %v", err)
	}
	if int64(len(raw)) > in.set.maxResponse {
		return answer{}, errUnavailable("answer larger than %d bytes", in.set.maxResponse)
	}
	claims, err := decodeObject(raw)
	if err != nil {
		return answer{}, errUnavailable("the answer is not a JSON object")
	}
	received := in.set.now()
	if active, _ := claims["active"].(bool); !active {
		return answer{err: errInactive, until: received.Add(in.set.inactiveTTL), size: 64}, nil
	}
	if iss, ok := claims["iss"]; ok && in.issuer != "" && iss != in.issuer {
		return answer{}, errIssuer
	} else if !ok && in.issuer != "" {
		claims["iss"] = in.issuer
	}
	if len(in.audience) > 0 && !namesAudience(claims["aud"], in.audience) {
		// Cached as an inactive answer is: the same token is refused alike
		// until it is asked about again.
		return answer{err: errAudience, until: received.Add(in.set.inactiveTTL), size: 64}, nil
	}
	typ := manager.Auth
	if tt, _ := claims["token_type"].(string); tt == "refresh_token" {
		typ = manager.Refresh
	}
	tok, err := manager.NewToken(claims, typ)
	if err != nil {
		return answer{}, errUnavailable("the answer's claims: %v", err)
	}
	if nbf, ok := claims["nbf"].(float64); ok && received.Before(time.Unix(int64(nbf), 0)) {
		return answer{}, errNotYet
	}
	until := received.Add(in.set.cacheTTL)
	if !tok.ExpiresAt.IsZero() && tok.ExpiresAt.Before(until) {
		until = tok.ExpiresAt
	}
	// Two decoded copies of the claims (the Token's and the rules'), each
	// about as large as the JSON text, and the Token.
	return answer{tok: tok, until: until, size: 4*int64(len(raw)) + 256}, nil
}

// namesAudience reports whether aud, an answer's "aud" (a string or a list
// of strings), names one of want.
func namesAudience(aud any, want []string) bool {
	switch a := aud.(type) {
	case string:
		return slices.Contains(want, a)
	case []any:
		for _, e := range a {
			if s, ok := e.(string); ok && slices.Contains(want, s) {
				return true
			}
		}
	}
	return false
}

// decodeObject decodes a JSON object as manager decodes claims: integers a
// float64 can't hold exactly stay [json.Number].
func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, errors.New("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return exactNumbers(m).(map[string]any), nil
}

// maxExact is 2^53: integers of smaller magnitude are exact in a float64.
const maxExact = 1 << 53

// exactNumbers replaces each [json.Number] of v by its float64 when that
// holds it exactly.
func exactNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if f, err := t.Float64(); err == nil && (strings.ContainsAny(string(t), ".eE") || f > -maxExact && f < maxExact) {
			return f
		}
	case map[string]any:
		for k, e := range t {
			t[k] = exactNumbers(e)
		}
	case []any:
		for i, e := range t {
			t[i] = exactNumbers(e)
		}
	}
	return v
}
