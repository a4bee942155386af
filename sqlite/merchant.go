package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/paygate/paygate"
)

// MerchantStore keeps merchants and API keys.
type MerchantStore struct{ db *DB }

var _ paygate.MerchantStore = (*MerchantStore)(nil)

// NewMerchantStore returns a store on db.
func NewMerchantStore(db *DB) *MerchantStore { return &MerchantStore{db: db} }

const merchantColumns = `id, name, email, require_ack, ack_window_ms, mcc, acquirer_id, terminal_id, created_at, rate_limit`

// CreateMerchant inserts a merchant.
func (s *MerchantStore) CreateMerchant(ctx context.Context, m *paygate.Merchant) error {
	return s.db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO merchants (`+merchantColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			m.ID, m.Name, m.Email, m.RequireAck, m.AckWindow.Milliseconds(), m.MCC, m.AcquirerID, m.TerminalID, toTime(m.CreatedAt), m.RateLimit)
		if err != nil {
			return fmt.Errorf("insert merchant: %w", err)
		}
		return nil
	})
}

// UpdateMerchant saves a merchant's settings.
func (s *MerchantStore) UpdateMerchant(ctx context.Context, m *paygate.Merchant) error {
	return s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`UPDATE merchants SET name = ?, email = ?, require_ack = ?, ack_window_ms = ?, mcc = ?, rate_limit = ? WHERE id = ?`,
			m.Name, m.Email, m.RequireAck, m.AckWindow.Milliseconds(), m.MCC, m.RateLimit, m.ID)
		if err != nil {
			return fmt.Errorf("update merchant: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("merchant", m.ID)
		}
		return nil
	})
}

func scanMerchant(row interface{ Scan(...any) error }) (*paygate.Merchant, error) {
	var m paygate.Merchant
	var ackMS int64
	var created sql.NullInt64
	if err := row.Scan(&m.ID, &m.Name, &m.Email, &m.RequireAck, &ackMS, &m.MCC, &m.AcquirerID, &m.TerminalID, &created, &m.RateLimit); err != nil {
		return nil, err
	}
	m.AckWindow = time.Duration(ackMS) * time.Millisecond
	m.CreatedAt = fromTime(created)
	return &m, nil
}

// Merchant returns a merchant by id.
func (s *MerchantStore) Merchant(ctx context.Context, id string) (*paygate.Merchant, error) {
	m, err := scanMerchant(s.db.reader.QueryRowContext(ctx, `SELECT `+merchantColumns+` FROM merchants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("merchant", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select merchant: %w", err)
	}
	return m, nil
}

// Merchants lists all merchants, oldest first.
func (s *MerchantStore) Merchants(ctx context.Context) ([]*paygate.Merchant, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT `+merchantColumns+` FROM merchants ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("select merchants: %w", err)
	}
	defer rows.Close()
	var out []*paygate.Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, fmt.Errorf("scan merchant: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

const keyColumns = `id, merchant_id, kind, prefix, hash, created_at, revoked_at`

// CreateAPIKey inserts a key (its hash).
func (s *MerchantStore) CreateAPIKey(ctx context.Context, k *paygate.APIKey) error {
	return s.db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO api_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			k.ID, k.MerchantID, k.Kind, k.Prefix, k.Hash, toTime(k.CreatedAt), toTime(k.RevokedAt))
		if err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}
		return nil
	})
}

func scanKey(row interface{ Scan(...any) error }) (*paygate.APIKey, error) {
	var k paygate.APIKey
	var created, revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.MerchantID, &k.Kind, &k.Prefix, &k.Hash, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt = fromTime(created), fromTime(revoked)
	return &k, nil
}

// APIKeyByHash finds a key by the hash of its plaintext.
func (s *MerchantStore) APIKeyByHash(ctx context.Context, hash string) (*paygate.APIKey, error) {
	k, err := scanKey(s.db.reader.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, paygate.Errorf(paygate.ENOTFOUND, "No such API key.")
	}
	if err != nil {
		return nil, fmt.Errorf("select api key: %w", err)
	}
	return k, nil
}

// APIKeys lists a merchant's keys.
func (s *MerchantStore) APIKeys(ctx context.Context, merchantID string) ([]*paygate.APIKey, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE merchant_id = ? ORDER BY id`, merchantID)
	if err != nil {
		return nil, fmt.Errorf("select api keys: %w", err)
	}
	defer rows.Close()
	var out []*paygate.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("scan api key: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes a key; revoking twice keeps the first time.
func (s *MerchantStore) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.db.write(ctx, func(tx *Tx) error {
		res, err := tx.Exec(`UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, toTime(at), id)
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("API key", id)
		}
		return nil
	})
}
