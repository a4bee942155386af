package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
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
	return s.db.exec(ctx, "cards/"+c.ID, func(_ pgconn.CommandTag, err error) error {
		if err != nil {
			return fmt.Errorf("insert card: %w", err)
		}
		return nil
	}, `INSERT INTO cards (id, merchant_id, brand, first6, last4, exp_month, exp_year, fingerprint, name, pan_key_id, pan, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		c.ID, c.MerchantID, c.Summary.Brand, c.Summary.First6, c.Summary.Last4, c.Summary.ExpMonth, c.Summary.ExpYear,
		c.Summary.Fingerprint, c.Name, c.PAN.KeyID, c.PAN.Ciphertext, toTime(c.CreatedAt))
}

// Card returns one of a merchant's stored cards.
func (s *CardStore) Card(ctx context.Context, merchantID, id string) (*paygate.StoredCard, error) {
	var c paygate.StoredCard
	var created pgtype.Int8
	err := s.db.pool.QueryRow(ctx, `SELECT id, merchant_id, brand, first6, last4, exp_month, exp_year, fingerprint, name, pan_key_id, pan, created_at
		FROM cards WHERE id = $1 AND merchant_id = $2`, id, merchantID).Scan(
		&c.ID, &c.MerchantID, &c.Summary.Brand, &c.Summary.First6, &c.Summary.Last4, &c.Summary.ExpMonth, &c.Summary.ExpYear,
		&c.Summary.Fingerprint, &c.Name, &c.PAN.KeyID, &c.PAN.Ciphertext, &created)
	if errors.Is(err, pgx.ErrNoRows) {
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
	rows, err := s.db.pool.Query(ctx, `SELECT id, wrapped, created_at, prev_id FROM data_keys ORDER BY id`)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select data keys: %w", err)
	}
	return out, nil
}

// DataKey returns one wrapped data key.
func (s *CardStore) DataKey(ctx context.Context, id string) (paygate.WrappedKey, error) {
	k, err := scanDataKey(s.db.pool.QueryRow(ctx, `SELECT id, wrapped, created_at, prev_id FROM data_keys WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return paygate.WrappedKey{}, notFound("data key", id)
	}
	if err != nil {
		return paygate.WrappedKey{}, fmt.Errorf("select data key: %w", err)
	}
	return k, nil
}

func scanDataKey(row pgx.Row) (paygate.WrappedKey, error) {
	var k paygate.WrappedKey
	var created pgtype.Int8
	var prev pgtype.Text
	if err := row.Scan(&k.ID, &k.Wrapped, &created, &prev); err != nil {
		return paygate.WrappedKey{}, err
	}
	k.CreatedAt, k.Prev = fromTime(created), prev.String
	return k, nil
}

// CreateDataKey stores a wrapped data key, unless one already succeeds
// k.Prev (ErrDuplicate).
func (s *CardStore) CreateDataKey(ctx context.Context, k paygate.WrappedKey) error {
	return s.db.exec(ctx, "data_keys/"+k.ID, func(_ pgconn.CommandTag, err error) error {
		if isUnique(err) {
			return fmt.Errorf("insert data key: %w", paygate.ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("insert data key: %w", err)
		}
		return nil
	}, `INSERT INTO data_keys (id, wrapped, created_at, prev_id) VALUES ($1, $2, $3, $4)`, k.ID, k.Wrapped, toTime(k.CreatedAt), k.Prev)
}
