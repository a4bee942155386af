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
	// Prev is the id of the key this one succeeds as the active key: ""
	// for the first key. Keys made before Prev was recorded have none
	// either, but a store holds only one key made as the first.
	Prev string
}

// KeyStore keeps the vault's wrapped data keys.
//
// Nodes sharing a database share its keys. A key is made to succeed one
// key (Prev), and only one key may succeed each: of several nodes making
// the first key, or rotating the same key, at once, one wins and the others
// load the winner.
type KeyStore interface {
	// DataKeys returns every key, oldest first.
	DataKeys(ctx context.Context) ([]WrappedKey, error)
	// DataKey returns the key with the given id, or a *Error of code
	// ENOTFOUND: a node meets the keys that other nodes made this way.
	DataKey(ctx context.Context, id string) (WrappedKey, error)
	// CreateDataKey stores k. If a key already succeeds k.Prev (a first
	// key exists, when k.Prev is ""), it stores nothing and returns an
	// error wrapping ErrDuplicate.
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
