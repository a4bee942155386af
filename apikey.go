package paygate

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxAPIKeyName bounds the name a merchant gives an API key.
const MaxAPIKeyName = 60

// CreateAPIKey makes the merchant a new secret API key named name (what
// it is for, such as "Checkout server"; may be empty) and returns it with
// its plaintext, the one time the plaintext is shown: only its hash is
// kept. The dashboard's keys page calls it; `paygate key create` makes
// unnamed keys through the store directly.
func (g *Gateway) CreateAPIKey(ctx context.Context, merchantID, name string) (*APIKey, string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > MaxAPIKeyName || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return nil, "", ParamErrorf(EINVALID, "name", "Key name must be at most %d characters, on one line.", MaxAPIKeyName)
	}
	if err := CheckFreeText("name", name); err != nil {
		return nil, "", err
	}
	plain, k := NewAPIKey(merchantID, KeySecret, g.now())
	k.Name = name
	if err := g.Merchants.CreateAPIKey(ctx, k); err != nil {
		return nil, "", fmt.Errorf("create api key: %w", err)
	}
	return k, plain, nil
}

// RevokeAPIKey revokes one of the merchant's API keys (another merchant's
// key is not found). The API stops taking it within the server's key
// cache time (a couple of seconds). Revoking a revoked key changes
// nothing.
func (g *Gateway) RevokeAPIKey(ctx context.Context, merchantID, id string) (*APIKey, error) {
	k, err := g.APIKey(ctx, merchantID, id)
	if err != nil {
		return nil, err
	}
	if k.Revoked() {
		return k, nil
	}
	now := g.now()
	if err := g.Merchants.RevokeAPIKey(ctx, k.ID, now); err != nil {
		return nil, fmt.Errorf("revoke api key %s: %w", k.ID, err)
	}
	k.RevokedAt = now.Truncate(TimePrecision)
	return k, nil
}

// APIKey returns one of the merchant's API keys (its hash, never the key).
func (g *Gateway) APIKey(ctx context.Context, merchantID, id string) (*APIKey, error) {
	list, err := g.Merchants.APIKeys(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	for _, k := range list {
		if k.ID == id {
			return k, nil
		}
	}
	return nil, Errorf(ENOTFOUND, "No such API key: %s.", sanitize(id, 40))
}
