package paygate

import (
	"context"
	"time"
)

// EncryptedPAN is a card number sealed by the vault under one of its data keys.
type EncryptedPAN struct {
	KeyID      string
	Ciphertext []byte
}

// Vault seals card numbers and computes keyed fingerprints (PCI DSS 3.5.1).
type Vault interface {
	Seal(pan string) (EncryptedPAN, error)
	Open(e EncryptedPAN) (string, error)
	Fingerprint(pan string) string
}

// WrappedKey is a data key encrypted under the master key.
type WrappedKey struct {
	ID        string
	Wrapped   []byte
	CreatedAt time.Time
}

// KeyStore keeps the vault's wrapped data keys.
type KeyStore interface {
	DataKeys(ctx context.Context) ([]WrappedKey, error)
	CreateDataKey(ctx context.Context, k WrappedKey) error
}

// StoredCard is a card kept for later merchant-initiated charges.
type StoredCard struct {
	ID         string
	MerchantID string
	Summary    CardSummary
	Name       string
	PAN        EncryptedPAN
	CreatedAt  time.Time
}

// CardStore keeps stored cards.
type CardStore interface {
	CreateCard(ctx context.Context, c *StoredCard) error
	Card(ctx context.Context, merchantID, id string) (*StoredCard, error)
}
