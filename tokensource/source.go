package tokensource

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Source gives the auth token that a call carries. *Refresher and Static
// implement it; [PerRPCCredentials], [ConnectInterceptor] and [RoundTripper]
// attach its tokens to calls.
type Source interface {
	// Token returns the auth token to send now, or "" and a nil error when
	// the call must carry none.
	Token(ctx context.Context) (string, error)
}

// Static returns a Source that always gives token, for a long-lived service
// token or a test. Static("") gives none: calls carry no token.
func Static(token string) Source { return staticSource(token) }

type staticSource string

func (s staticSource) Token(context.Context) (string, error) { return string(s), nil }

// RefreshFunc exchanges refreshToken at the login service for a new auth
// token and, with rotation, a new refresh token. It is called by one
// goroutine at a time, never concurrently, with a context that carries the
// values of the call that needed the token but not its cancellation (see
// [WithRefreshTimeout]). An empty refresh in the answer keeps the current
// refresh token, as OAuth 2.0 allows.
//
// Calls it makes with that ctx through this Refresher's own transports carry
// no auth token, so it may call the login service on the connection the
// Refresher guards, with the refresh token attached by hand or by Static.
type RefreshFunc func(ctx context.Context, refreshToken string) (auth, refresh string, err error)

// Refresher is a Source holding an auth token and a refresh token. It
// refreshes before the auth token expires (see [WithRefreshMargin]), one
// refresh at a time, and hands every caller a token that has not expired:
//
//   - while the auth token is valid, callers use it at once, and the first
//     caller inside the margin starts a refresh in the background;
//   - once it has expired, callers wait for the refresh in flight, or start
//     it, each until its own ctx ends;
//   - a refresh that fails for a passing reason (the login service is
//     unavailable, the network) is returned to the callers that waited for it
//     and tried again on a later call, no sooner than a quarter of the auth
//     token's remaining life while the token is still valid;
//   - a refresh refused because the login is over (the refresh token was
//     revoked, reused, has expired or is invalid) ends the Refresher: every
//     later call returns an error wrapping ErrLoginEnded, and nothing is
//     retried.
//
// A token's expiry is read on the issuer's clock, not the client's: its
// life (exp - iat) is counted from when the Refresher asked for it, so a
// client whose clock is minutes off neither sends tokens the server has
// expired nor refreshes on every call. A token without iat is taken at its
// exp on the client's clock.
//
// Rotated refresh tokens are kept in memory and handed to the function of
// [WithSaveRefreshToken]. A Refresher is safe for concurrent use.
type Refresher struct {
	refresh RefreshFunc
	cfg     config

	// current is the auth token, read without locking while no refresh is
	// due; nil until the first refresh when New got none, and once the
	// login has ended.
	current atomic.Pointer[authToken]

	mu           sync.Mutex
	retryAt      time.Time // after a failed refresh, none before then
	refreshToken string
	flight       *flight // the refresh in progress, nil when none
	ended        error   // non-nil once the login is over
}

// authToken is an auth token and the times that matter to its holder.
type authToken struct {
	token     string
	exp       time.Time // when it expires, by the client's clock (see localExpiry)
	refreshAt time.Time // from then, a refresh is due
}

// flight is one refresh; done is closed when the other fields are set.
type flight struct {
	done chan struct{}
	auth string
	exp  time.Time
	err  error
}

// refreshKey marks the context of a Refresher's own refresh.
type refreshKey struct{}

// ErrLoginEnded means the login service refused a refresh in a way that
// no retry can change: the refresh token was revoked (reused, by a thief
// or by a client that refreshed twice), has expired, is invalid or is not
// a refresh token, or the refresh request itself was malformed
// (REQUEST_MALFORMED: the [RefreshFunc] sends its token badly, and would
// again). The user must sign in again. The error a Refresher
// returns wraps both [ErrLoginEnded] and the refusal.
var ErrLoginEnded = errors.New("tokensource: login ended, sign in again")

// errExpiredOnArrival means a refresh brought an auth token whose life
// (exp - iat) ended before the refresh did, or, without iat, whose exp has
// passed by the client's clock.
var errExpiredOnArrival = errors.New("tokensource: the refreshed auth token expired before it arrived")

// New returns a Refresher holding the auth token auth and the refresh token
// refresh, refreshed with fn. auth may be empty, for a client resuming its
// login from a saved refresh token: the first call then refreshes. A
// non-empty auth must be a JWT with an exp claim, read without verifying.
// refresh may be empty when fn needs none (a client-credentials grant).
func New(auth, refresh string, fn RefreshFunc, opts ...Option) (*Refresher, error) {
	if fn == nil {
		return nil, errors.New("tokensource: New needs a RefreshFunc")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Refresher{refresh: fn, cfg: cfg, refreshToken: refresh}
	if auth != "" {
		times, err := timesOf(auth)
		if err != nil {
			return nil, err
		}
		now := cfg.now()
		r.setAuthLocked(auth, localExpiry(times, now, false), now)
	}
	return r, nil
}

// localExpiry returns when a token expires by the client's clock, which
// may be minutes off the issuer's: a client whose clock is slow would send
// tokens the server has already expired, and one whose clock is fast
// would see every new token expired on arrival and refresh on every call.
// The token's life, exp - iat, is a length of time on the issuer's clock,
// true on any clock; counted from obtained, when the client asked for the
// token (fresh), it ends no later than the token does, since a login
// service issues the token it answers a refresh with after being asked
// (one that answered with a token issued earlier would make it end late). A token of unknown age (fresh false: the
// one given to New) ends at the earlier of its exp read on the client's
// clock and its life counted from now: right when the clocks agree or the
// token is new, and early, never late, when the client's clock is fast.
// A token without iat is taken at its exp on the client's clock.
func localExpiry(t tokenTimes, obtained time.Time, fresh bool) time.Time {
	life, ok := t.life()
	if !ok {
		return t.exp
	}
	end := obtained.Add(life)
	if !fresh && t.exp.Before(end) {
		return t.exp
	}
	return end
}

// setAuthLocked stores a new auth token that expires at exp by the
// client's clock; now is the time.
func (r *Refresher) setAuthLocked(auth string, exp, now time.Time) {
	// The margin is at most half the token's life, so that a token is used
	// for a while before the next refresh, however short it lives.
	margin := min(r.cfg.margin, max(exp.Sub(now)/2, 0))
	r.current.Store(&authToken{token: auth, exp: exp, refreshAt: exp.Add(-margin)})
	r.retryAt = time.Time{}
}

// Token returns an auth token that has not expired, refreshing as the
// Refresher's doc describes. Called with the context of the Refresher's own
// refresh, it returns "" and no error: that call carries no auth token.
func (r *Refresher) Token(ctx context.Context) (string, error) {
	if owner, _ := ctx.Value(refreshKey{}).(*Refresher); owner == r {
		return "", nil
	}
	now := r.cfg.now()
	if cur := r.current.Load(); cur != nil && now.Before(cur.refreshAt) {
		return cur.token, nil
	}
	r.mu.Lock()
	if r.ended != nil {
		r.mu.Unlock()
		return "", r.ended
	}
	if cur := r.current.Load(); cur != nil && now.Before(cur.exp) {
		if !now.Before(cur.refreshAt) && r.flight == nil && !now.Before(r.retryAt) {
			r.startLocked(ctx)
		}
		r.mu.Unlock()
		return cur.token, nil
	}
	f := r.flight
	if f == nil {
		f = r.startLocked(ctx)
	}
	r.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if f.err != nil {
		return "", f.err
	}
	if !r.cfg.now().Before(f.exp) {
		return "", errExpiredOnArrival
	}
	return f.auth, nil
}

// startLocked starts a refresh. It runs on a context of its own, so that a
// caller giving up does not cancel the refresh that others wait for, nor
// lose a rotated refresh token the login service has already issued.
func (r *Refresher) startLocked(ctx context.Context) *flight {
	f := &flight{done: make(chan struct{})}
	r.flight = f
	ctx = context.WithValue(context.WithoutCancel(ctx), refreshKey{}, r)
	go r.run(ctx, f, r.refreshToken)
	return f
}

// run performs the refresh of f and publishes its outcome.
func (r *Refresher) run(ctx context.Context, f *flight, refreshToken string) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.timeout)
	defer cancel()
	asked := r.cfg.now()
	auth, next, err := r.refresh(ctx, refreshToken)
	var saveErr error
	if err == nil && next != "" && next != refreshToken && r.cfg.save != nil {
		// Saved before the new auth token is handed out: a client that
		// restarts after using it resumes with the refresh token that goes
		// with it.
		if serr := r.cfg.save(ctx, next); serr != nil {
			saveErr = fmt.Errorf("tokensource: saving the rotated refresh token: %w", serr)
		}
	}

	r.mu.Lock()
	now := r.cfg.now()
	switch {
	case err != nil && loginOver(err):
		r.ended = fmt.Errorf("%w: %w", ErrLoginEnded, err)
		r.current.Store(nil)
		f.err = r.ended
	case err != nil:
		f.err = fmt.Errorf("tokensource: refresh failed: %w", err)
		r.backOffLocked(now)
	default:
		if next != "" {
			// Kept even if saving failed: the old refresh token is spent.
			r.refreshToken = next
		}
		times, expErr := timesOf(auth)
		if expErr != nil {
			f.err = expErr
			r.backOffLocked(now)
			break
		}
		exp := localExpiry(times, asked, true)
		r.setAuthLocked(auth, exp, now)
		f.auth, f.exp, f.err = auth, exp, saveErr
	}
	r.flight = nil
	r.mu.Unlock()
	close(f.done)
}

// backOffLocked delays the next refresh while the auth token is valid: by a
// quarter of its remaining life, so that retries come closer as its expiry
// nears, and every call retries once it has expired.
func (r *Refresher) backOffLocked(now time.Time) {
	if cur := r.current.Load(); cur != nil && now.Before(cur.exp) {
		r.retryAt = now.Add(cur.exp.Sub(now) / 4)
	}
}
