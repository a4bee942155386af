package http

import (
	"net/http"
	"strings"
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

// authenticate finds the merchant of the secret key in the Authorization
// header and takes a token from the key's rate limit (see limit). It
// returns the key's id too (apiKeyID).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request) (*paygate.Merchant, string, error) {
	if n := len(r.Header.Values("Authorization")); n > 1 {
		return nil, "", paygate.ParamErrorf(paygate.EMALFORMED, "Authorization", "Send one Authorization header, not %d.", n)
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, "", paygate.Errorf(paygate.EUNAUTHORIZED, "No API key provided. Send your secret key as 'Authorization: Bearer sk_...'.")
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		if user, _, basic := r.BasicAuth(); basic {
			token, ok = user, true
		}
	}
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		return nil, "", paygate.Errorf(paygate.EUNAUTHORIZED, "Malformed Authorization header. Send 'Authorization: Bearer sk_...'.")
	}
	hash := paygate.HashAPIKey(token)
	now := time.Now()
	e, ok := s.auth.get(hash, now)
	if !ok {
		k, err := s.Merchants.APIKeyByHash(r.Context(), hash)
		if paygate.ErrorCode(err) == paygate.ENOTFOUND {
			return nil, "", paygate.Errorf(paygate.EUNAUTHORIZED, "Invalid API key provided.")
		}
		if err != nil {
			return nil, "", err
		}
		e = authEntry{key: k, expires: now.Add(authTTL)}
		if !k.Revoked() {
			if e.merchant, err = s.Merchants.Merchant(r.Context(), k.MerchantID); err != nil {
				return nil, "", err
			}
		}
		s.auth.put(hash, e)
	}
	if e.key.Revoked() {
		return nil, "", paygate.Errorf(paygate.EUNAUTHORIZED, "This API key (%s…) has been revoked.", e.key.Prefix)
	}
	if e.key.Kind != paygate.KeySecret {
		return nil, "", paygate.Errorf(paygate.EFORBIDDEN, "Publishable keys are no longer used; use a secret key.")
	}
	if err := s.limit(w, e.key.ID, e.merchant); err != nil {
		return nil, "", err
	}
	return e.merchant, e.key.ID, nil
}

// apiKeyID returns the id of the API key that authenticated the request.
func apiKeyID(r *http.Request) string {
	v, _ := r.Context().Value(apiKeyIDKey).(string)
	return v
}
