package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/paygate/paygate"
)

// CardStore keeps stored cards and the vault's wrapped data keys.
type CardStore struct{ db *DB }

var (
	_ paygate.CardStore = (*CardStore)(nil)
	_ paygate.KeyStore  = (*CardStore)(nil)
)

// NewCardStore returns a store on db.
func NewCardStore(db *DB) *CardStore { return &CardStore{db: db} }

// CreateCard inserts a stored card (its number sealed).
func (s *CardStore) CreateCard(ctx context.Context, c *paygate.StoredCard) error {
	return s.db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO cards (id, merchant_id, brand, first6, last4, exp_month, exp_year, fingerprint, name, pan_key_id, pan, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.MerchantID, c.Summary.Brand, c.Summary.First6, c.Summary.Last4, c.Summary.ExpMonth, c.Summary.ExpYear,
			c.Summary.Fingerprint, c.Name, c.PAN.KeyID, c.PAN.Ciphertext, toTime(c.CreatedAt))
		if err != nil {
			return fmt.Errorf("insert card: %w", err)
		}
		return nil
	})
}

// Card returns one of a merchant's stored cards.
func (s *CardStore) Card(ctx context.Context, merchantID, id string) (*paygate.StoredCard, error) {
	var c paygate.StoredCard
	var created sql.NullInt64
	err := s.db.reader.QueryRowContext(ctx, `SELECT id, merchant_id, brand, first6, last4, exp_month, exp_year, fingerprint, name, pan_key_id, pan, created_at
		FROM cards WHERE id = ? AND merchant_id = ?`, id, merchantID).Scan(
		&c.ID, &c.MerchantID, &c.Summary.Brand, &c.Summary.First6, &c.Summary.Last4, &c.Summary.ExpMonth, &c.Summary.ExpYear,
		&c.Summary.Fingerprint, &c.Name, &c.PAN.KeyID, &c.PAN.Ciphertext, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("card", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select card: %w", err)
	}
	c.CreatedAt = fromTime(created)
	return &c, nil
}

// DataKeys returns every wrapped data key, oldest first.
func (s *CardStore) DataKeys(ctx context.Context) ([]paygate.WrappedKey, error) {
	rows, err := s.db.reader.QueryContext(ctx, `SELECT id, wrapped, created_at, prev_id FROM data_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("select data keys: %w", err)
	}
	defer rows.Close()
	var out []paygate.WrappedKey
	for rows.Next() {
		k, err := scanDataKey(rows)
		if err != nil {
			return nil, fmt.Errorf("scan data key: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DataKey returns one wrapped data key.
func (s *CardStore) DataKey(ctx context.Context, id string) (paygate.WrappedKey, error) {
	k, err := scanDataKey(s.db.reader.QueryRowContext(ctx, `SELECT id, wrapped, created_at, prev_id FROM data_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return paygate.WrappedKey{}, notFound("data key", id)
	}
	if err != nil {
		return paygate.WrappedKey{}, fmt.Errorf("select data key: %w", err)
	}
	return k, nil
}

func scanDataKey(row interface{ Scan(...any) error }) (paygate.WrappedKey, error) {
	var k paygate.WrappedKey
	var created sql.NullInt64
	var prev sql.NullString
	if err := row.Scan(&k.ID, &k.Wrapped, &created, &prev); err != nil {
		return paygate.WrappedKey{}, err
	}
	k.CreatedAt, k.Prev = fromTime(created), prev.String
	return k, nil
}

// CreateDataKey stores a wrapped data key, unless one already succeeds
// k.Prev (ErrDuplicate).
func (s *CardStore) CreateDataKey(ctx context.Context, k paygate.WrappedKey) error {
	return s.db.write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`INSERT INTO data_keys (id, wrapped, created_at, prev_id) VALUES (?, ?, ?, ?)`, k.ID, k.Wrapped, toTime(k.CreatedAt), k.Prev)
		if isUnique(err) {
			return fmt.Errorf("insert data key: %w", paygate.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("insert data key: %w", err)
		}
		return nil
	})
}
