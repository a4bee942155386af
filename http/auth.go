package http

import (
	"sync"
	"time"

	"github.com/paygate/paygate"
)

// authTTL is how long a key lookup is remembered. A revoked key stops
// working on every node within this time.
const authTTL = 2 * time.Second

// authCache remembers recent key lookups (by key hash) so that a busy
// merchant does not cost two database reads per request.
type authCache struct {
	mu      sync.Mutex
	entries map[string]authEntry
}

type authEntry struct {
	key      *paygate.APIKey
	merchant *paygate.Merchant
	expires  time.Time
}

func (c *authCache) get(hash string, now time.Time) (authEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[hash]
	if !ok || now.After(e.expires) {
		return authEntry{}, false
	}
	return e, true
}

func (c *authCache) put(hash string, e authEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) > 10_000 {
		c.entries = map[string]authEntry{} // bounded: start afresh
	}
	c.entries[hash] = e
}
