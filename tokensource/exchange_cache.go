package tokensource

import (
	"container/list"
	"sync"
	"time"
)

// exchangeEntryCost is what an entry of the exchange cache counts for
// besides its token: the key, the times, the map and list links.
const exchangeEntryCost = 160

// exchangeCache keeps exchanged tokens until they are due to be replaced,
// within a budget of bytes, dropping the least recently used first.
type exchangeCache struct {
	max int // bytes; negative: keep nothing

	mu      sync.Mutex
	size    int
	entries map[exchangeKey]*list.Element
	lru     list.List // of *exchangeEntry, most recently used first
}

type exchangeEntry struct {
	key      exchangeKey
	token    string
	useUntil time.Time
}

func newExchangeCache(maxBytes int) *exchangeCache {
	return &exchangeCache{max: maxBytes, entries: map[exchangeKey]*list.Element{}}
}

func (e *exchangeEntry) cost() int { return len(e.token) + exchangeEntryCost }

// get returns the token kept for key if it may still be handed out at now.
func (c *exchangeCache) get(key exchangeKey, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return "", false
	}
	ent := el.Value.(*exchangeEntry)
	if !now.Before(ent.useUntil) {
		c.removeLocked(el)
		return "", false
	}
	c.lru.MoveToFront(el)
	return ent.token, true
}

// put keeps token for key until useUntil, dropping the least recently used
// entries (the expired ones first) to stay within the budget. A token
// larger than the whole budget is not kept.
func (c *exchangeCache) put(key exchangeKey, token string, useUntil, now time.Time) {
	ent := &exchangeEntry{key: key, token: token, useUntil: useUntil}
	if ent.cost() > c.max || !now.Before(useUntil) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.removeLocked(el)
	}
	if c.size+ent.cost() > c.max {
		for el := c.lru.Back(); el != nil; {
			prev := el.Prev()
			if !now.Before(el.Value.(*exchangeEntry).useUntil) {
				c.removeLocked(el)
			}
			el = prev
		}
	}
	for c.size+ent.cost() > c.max {
		c.removeLocked(c.lru.Back())
	}
	c.entries[key] = c.lru.PushFront(ent)
	c.size += ent.cost()
}

func (c *exchangeCache) removeLocked(el *list.Element) {
	ent := c.lru.Remove(el).(*exchangeEntry)
	delete(c.entries, ent.key)
	c.size -= ent.cost()
}

// stats returns the number of entries and their cost, for tests.
func (c *exchangeCache) stats() (entries, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.size
}
