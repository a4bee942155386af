package paygate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// An access key (seed 003's "api_accesskey") authenticates a merchant's
// transparent redirect forms (tr.go): the merchant's server hashes it
// with the form's fields, and the gateway recomputes that hash. So the
// gateway must hold the key itself, not only a hash of it as it holds API
// keys: it is sealed by the vault, as card numbers and signing secrets
// are, and opened only to check a hash. It is separate from the API keys
// and the signing secret, shown once, and rotated with an overlap.

// AccessKeyOverlap is how long a replaced access key still verifies, so
// that a merchant can deploy its successor (and forms hashed with it just
// before are still accepted).
const AccessKeyOverlap = 24 * time.Hour

// AccessKey is one of a merchant's access keys, sealed by the vault.
type AccessKey struct {
	ID         string // "ak_..."
	MerchantID string
	Sealed     EncryptedPAN // the key's text, sealed like a card number
	CreatedAt  time.Time
	// ExpiresAt is zero for the current key; a replaced key keeps
	// verifying until then (the end of its overlap).
	ExpiresAt time.Time
}

// AccessKeyStore keeps access keys.
type AccessKeyStore interface {
	// RotateAccessKey stores k and, in the same transaction, sets
	// ExpiresAt = retireAt on the merchant's keys that had none.
	RotateAccessKey(ctx context.Context, k *AccessKey, retireAt time.Time) error
	// AccessKeys returns the merchant's keys that have not expired at now
	// (ExpiresAt zero or after now), newest first.
	AccessKeys(ctx context.Context, merchantID string, now time.Time) ([]*AccessKey, error)
}

// NewAccessKeyText returns a new access key: a random UUID (version 4),
// the form seed 003's keys take, such as
// "e6f157d2-66cf-43d5-8a56-c4c57d5760d7" (122 random bits).
func NewAccessKeyText() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; see crypto/rand.Read
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// RotateAccessKey makes the merchant a new access key and returns it, the
// one time it is shown. The keys it replaces keep verifying for
// AccessKeyOverlap.
func (g *Gateway) RotateAccessKey(ctx context.Context, m *Merchant) (*AccessKey, string, error) {
	if g.AccessKeys == nil {
		return nil, "", fmt.Errorf("no access key store")
	}
	now := g.now()
	text := NewAccessKeyText()
	sealed, err := g.Vault.Seal(text)
	if err != nil {
		return nil, "", fmt.Errorf("seal access key: %w", err)
	}
	k := &AccessKey{ID: NewID("ak", now), MerchantID: m.ID, Sealed: sealed, CreatedAt: now}
	if err := g.AccessKeys.RotateAccessKey(ctx, k, now.Add(AccessKeyOverlap)); err != nil {
		return nil, "", fmt.Errorf("store access key: %w", err)
	}
	return k, text, nil
}

// AccessKeyList returns the merchant's access keys in force (sealed: only
// their ids and times are for showing).
func (g *Gateway) AccessKeyList(ctx context.Context, merchantID string) ([]*AccessKey, error) {
	if g.AccessKeys == nil {
		return nil, nil
	}
	return g.AccessKeys.AccessKeys(ctx, merchantID, g.now())
}

// accessKeys opens the merchant's access keys in force, newest first
// (none: an empty list).
func (g *Gateway) accessKeys(ctx context.Context, merchantID string) ([]string, error) {
	list, err := g.AccessKeyList(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("load access keys: %w", err)
	}
	keys := make([]string, 0, len(list))
	for _, k := range list {
		text, err := g.Vault.Open(k.Sealed)
		if err != nil {
			return nil, fmt.Errorf("open access key %s: %w", k.ID, err)
		}
		keys = append(keys, text)
	}
	return keys, nil
}
