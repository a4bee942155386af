package webhook

import (
	"net/http"
	"testing"
	"time"
)

// SetDialHook makes every address that passes the guard go to hook for
// the rest of the test (hook may refuse it, so that a broken guard
// cannot make a test send a packet anywhere).
func SetDialHook(t testing.TB, hook func(address string) error) {
	t.Helper()
	testHookDial = hook
	t.Cleanup(func() { testHookDial = nil })
}

// Transport returns the client's transport (after its first Fetch).
func Transport(c *Client) *http.Transport {
	c.once.Do(c.init)
	return c.http.Transport.(*http.Transport)
}

// PosterTransport returns the poster's transport.
func PosterTransport(p *Poster) *http.Transport {
	p.once.Do(p.init)
	return p.http.Transport.(*http.Transport)
}

// PosterTimeout returns the timeout the poster applies.
func PosterTimeout(p *Poster) time.Duration { return p.timeout() }
