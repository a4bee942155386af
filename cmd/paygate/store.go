package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/postgres"
	"github.com/paygate/paygate/sqlite"
	"github.com/paygate/paygate/vault"
)

// poolConfig is the PostgreSQL connection pool, from flags.
type poolConfig struct {
	MaxConns        int
	MinConns        int
	Writers         int
	MaxConnLifetime time.Duration
	NoMigrate       bool // refuse a schema that is not current instead of migrating it
}

// isPostgres reports whether a --db value names a PostgreSQL database.
func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// openStores opens the database named by --db: a postgres:// URL selects
// PostgreSQL, anything else (a path, or sqlite:path) SQLite. Opening applies
// the migrations that are missing.
func openStores(ctx context.Context, db string, pool poolConfig) (*paygate.Stores, error) {
	var st paygate.Stores
	if isPostgres(db) {
		pg, err := postgres.Open(ctx, db, postgres.Options{MaxConns: pool.MaxConns, MinConns: pool.MinConns,
			Writers: pool.Writers, MaxConnLifetime: pool.MaxConnLifetime, NoMigrate: pool.NoMigrate})
		if err != nil {
			return nil, err
		}
		st = pg.Stores()
	} else {
		lite, err := sqlite.OpenWith(strings.TrimPrefix(db, "sqlite:"), sqlite.Options{NoMigrate: pool.NoMigrate})
		if err != nil {
			return nil, err
		}
		st = lite.Stores()
	}
	return &st, nil
}

// openExisting opens a database that must already exist with a current
// schema. Every command but serve and migrate uses it, so that a typo in
// --db is an error rather than a new, empty database.
func openExisting(ctx context.Context, db string) (*paygate.Stores, error) {
	if !isPostgres(db) {
		path := strings.TrimPrefix(db, "sqlite:")
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("database %s does not exist: create it with 'paygate migrate --db %s' or start 'paygate serve --db %s'", path, db, db)
		}
	}
	return openStores(ctx, db, poolConfig{NoMigrate: true})
}

// openMerchant opens an existing database and finds a merchant in it.
func openMerchant(ctx context.Context, db, merchantID string) (*paygate.Stores, *paygate.Merchant, error) {
	if merchantID == "" {
		return nil, nil, errors.New("--merchant is required")
	}
	st, err := openExisting(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	m, err := st.Merchants.Merchant(ctx, merchantID)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("%s", paygate.ErrorMessage(err))
	}
	return st, m, nil
}

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

// defaultKeyFile puts the key file next to a SQLite database, or in the
// working directory for PostgreSQL (where every node needs the same key:
// set PAYGATE_MASTER_KEY on each instead).
func defaultKeyFile(db string) string {
	if isPostgres(db) {
		return "paygate.key"
	}
	db = strings.TrimPrefix(db, "sqlite:")
	return filepath.Join(filepath.Dir(db), "paygate.key")
}

// newMerchantWithKey creates a merchant and its first secret key, whose
// plaintext is returned once. (Publishable keys are no longer issued: no
// route takes them.)
func newMerchantWithKey(ctx context.Context, s *paygate.Stores, m *paygate.Merchant) (secret string, err error) {
	if err := s.Merchants.CreateMerchant(ctx, m); err != nil {
		return "", err
	}
	secret, sk := paygate.NewAPIKey(m.ID, paygate.KeySecret, m.CreatedAt)
	if err := s.Merchants.CreateAPIKey(ctx, sk); err != nil {
		return "", err
	}
	return secret, nil
}
