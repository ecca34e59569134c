package manager

import "time"

// defaultMaxTokenSize is the size bound of tokens Verify accepts when
// WithMaxTokenSize is not given: 8 KiB.
const defaultMaxTokenSize = 8 << 10

// An Option changes how New builds a Manager.
type Option interface {
	apply(*Manager)
}

// optionFunc adapts a function to Option.
type optionFunc func(*Manager)

func (f optionFunc) apply(m *Manager) { f(m) }

// WithClock makes the Manager read the current time from now, both to stamp
// the tokens it issues and to check exp, nbf and iat in Verify. Tests use it
// to issue tokens in the past or the future. A nil now is ignored. By
// default, the Manager uses time.Now.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(m *Manager) {
		if now != nil {
			m.now = now
		}
	})
}

// WithMaxTokenSize sets the largest token, in bytes, that Verify decodes;
// a larger one is refused with ErrMalformed before any decoding. New refuses
// a size that is not positive. By default, the bound is 8 KiB.
func WithMaxTokenSize(n int) Option {
	return optionFunc(func(m *Manager) {
		m.maxTokenSize = n
	})
}
