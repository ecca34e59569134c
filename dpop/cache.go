package dpop

import (
	"strings"
	"sync"
)

// Bounds of the caches a Verifier keeps, in bytes of the text they are
// keyed by.
const (
	headerCacheBytes    = 1 << 20
	tokenHashCacheBytes = 1 << 20
)

// textCache keeps what was derived from a text (a proof's header segment,
// an access token) by that exact text: a lookup is a map lookup, which
// compares the whole text, so a text that differs by one byte is a miss
// and is derived again. When full it starts again empty: the next texts
// then pay for their work once more, and no one can grow it without
// bound.
type textCache[V any] struct {
	mu    sync.RWMutex
	m     map[string]V
	bytes int
	max   int
}

// entryOverhead is what an entry costs besides its text, roughly.
const entryOverhead = 128

func newTextCache[V any](max int) *textCache[V] {
	return &textCache[V]{m: make(map[string]V), max: max}
}

func (c *textCache[V]) get(text string) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[text]
	c.mu.RUnlock()
	return v, ok
}

func (c *textCache[V]) put(text string, v V) {
	size := len(text) + entryOverhead
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+size > c.max {
		c.m = make(map[string]V)
		c.bytes = 0
	}
	if _, ok := c.m[text]; !ok {
		// text is part of a request's header: a copy lets the request go.
		c.m[strings.Clone(text)] = v
		c.bytes += size
	}
}
