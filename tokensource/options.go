package tokensource

import (
	"context"
	"errors"
	"time"
)

// Option configures a Refresher.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// config is what the options set.
type config struct {
	margin  time.Duration
	timeout time.Duration
	now     func() time.Time
	save    func(ctx context.Context, refreshToken string) error
}

func defaultConfig() config {
	return config{margin: time.Minute, timeout: 30 * time.Second, now: time.Now}
}

func (c *config) validate() error {
	switch {
	case c.margin < 0:
		return errors.New("tokensource: the refresh margin can't be negative")
	case c.timeout <= 0:
		return errors.New("tokensource: the refresh timeout must be positive")
	case c.now == nil:
		return errors.New("tokensource: WithClock needs a function")
	}
	return nil
}

// WithRefreshMargin refreshes the auth token once less than d of its life
// remains, so that no call leaves with a token about to expire. A margin
// longer than half the token's life (from when the client got it to its
// exp) counts as half. By default, one minute.
func WithRefreshMargin(d time.Duration) Option {
	return optionFunc(func(c *config) { c.margin = d })
}

// WithRefreshTimeout bounds each refresh: the [RefreshFunc]'s context ends
// after d. A refresh does not end with the call that started it. By
// default, 30 seconds.
func WithRefreshTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithClock makes the Refresher read the time from now, for tests: the
// same clock may be given to the server's [manager.WithClock]. By default,
// [time.Now].
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) { c.now = now })
}

// WithSaveRefreshToken calls save with each rotated refresh token, before
// the auth token that came with it is used, so that a client can store it
// and resume its login after a restart (New with an empty auth token). An
// error of save is returned to the callers that waited for that refresh;
// the new tokens are used anyway, since the old refresh token is spent. By
// default, refresh tokens are kept in memory only.
func WithSaveRefreshToken(save func(ctx context.Context, refreshToken string) error) Option {
	return optionFunc(func(c *config) { c.save = save })
}
