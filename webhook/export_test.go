package webhook

import (
	"net/http"
	"testing"
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
