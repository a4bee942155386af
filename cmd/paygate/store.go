package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/sqlite"
	"github.com/paygate/paygate/vault"
)

// stores is an open database with its stores.
type stores struct {
	db          *sqlite.DB
	merchants   *sqlite.MerchantStore
	payments    *sqlite.PaymentStore
	cards       *sqlite.CardStore
	idempotency *sqlite.IdempotencyStore
	sequences   *sqlite.SequenceStore
}

func openStores(path string) (*stores, error) {
	path = strings.TrimPrefix(path, "sqlite:")
	db, err := sqlite.Open(path)
	if err != nil {
		return nil, err
	}
	return &stores{
		db:          db,
		merchants:   sqlite.NewMerchantStore(db),
		payments:    sqlite.NewPaymentStore(db),
		cards:       sqlite.NewCardStore(db),
		idempotency: sqlite.NewIdempotencyStore(db),
		sequences:   sqlite.NewSequenceStore(db),
	}, nil
}

func (s *stores) Close() error { return s.db.Close() }

// masterKey reads the master key from PAYGATE_MASTER_KEY, or from the key
// file (made with mode 0600 on first start).
func masterKey(keyFile string) ([]byte, string, error) {
	if v := os.Getenv("PAYGATE_MASTER_KEY"); v != "" {
		k, err := vault.ParseMasterKey(v)
		if err != nil {
			return nil, "", fmt.Errorf("PAYGATE_MASTER_KEY: %w", err)
		}
		return k, "", nil
	}
	k, created, err := vault.LoadOrCreateKeyFile(keyFile)
	if err != nil {
		return nil, "", err
	}
	note := ""
	if created {
		note = "created master key file " + keyFile + " (mode 0600): back it up; without it stored cards cannot be read"
	}
	return k, note, nil
}

// defaultKeyFile puts the key file next to the database.
func defaultKeyFile(db string) string {
	db = strings.TrimPrefix(db, "sqlite:")
	return filepath.Join(filepath.Dir(db), "paygate.key")
}

// openVault opens the vault with the master key.
func openVault(ctx context.Context, s *stores, keyFile string) (*vault.Vault, []byte, string, error) {
	key, note, err := masterKey(keyFile)
	if err != nil {
		return nil, nil, "", err
	}
	v, err := vault.Open(ctx, key, s.cards)
	if err != nil {
		return nil, nil, "", err
	}
	return v, key, note, nil
}

// newMerchantWithKeys creates a merchant and its first secret and
// publishable keys; the keys' plaintexts are returned once.
func newMerchantWithKeys(ctx context.Context, s *stores, m *paygate.Merchant) (secret, publishable string, err error) {
	if err := s.merchants.CreateMerchant(ctx, m); err != nil {
		return "", "", err
	}
	secret, sk := paygate.NewAPIKey(m.ID, paygate.KeySecret, m.CreatedAt)
	publishable, pk := paygate.NewAPIKey(m.ID, paygate.KeyPublishable, m.CreatedAt)
	for _, k := range []*paygate.APIKey{sk, pk} {
		if err := s.merchants.CreateAPIKey(ctx, k); err != nil {
			return "", "", err
		}
	}
	return secret, publishable, nil
}
