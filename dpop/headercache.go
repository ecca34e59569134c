package dpop

import "sync"

// headerCacheBytes bounds the text of the headers a Verifier keeps.
const headerCacheBytes = 1 << 20

// headerCache keeps checked proof headers by their exact base64url text.
// When full it starts again empty: a client's next proof then pays for its
// header once more, and no one can grow it without bound.
type headerCache struct {
	mu    sync.RWMutex
	m     map[string]*header
	bytes int
	max   int
}

func newHeaderCache(max int) *headerCache {
	return &headerCache{m: make(map[string]*header), max: max}
}

func (c *headerCache) get(seg string) *header {
	c.mu.RLock()
	h := c.m[seg]
	c.mu.RUnlock()
	return h
}

func (c *headerCache) put(seg string, h *header) {
	size := len(seg) + 128
	if size > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.bytes+size > c.max {
		c.m = make(map[string]*header)
		c.bytes = 0
	}
	if _, ok := c.m[seg]; !ok {
		c.m[seg] = h
		c.bytes += size
	}
}
