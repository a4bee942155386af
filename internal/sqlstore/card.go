package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/paygate/paygate"
)

// cards keeps stored cards and the vault's wrapped data keys.
type cards struct{ *store }

var (
	_ paygate.CardStore = cards{}
	_ paygate.KeyStore  = cards{}
)

const cardColumns = `id, merchant_id, brand, first6, last4, exp_month, exp_year, fingerprint, name, pan_key_id, pan, created_at`

func scanCard(row Row) (*paygate.StoredCard, error) {
	var c paygate.StoredCard
	var created sql.NullInt64
	if err := row.Scan(&c.ID, &c.MerchantID, &c.Summary.Brand, &c.Summary.First6, &c.Summary.Last4, &c.Summary.ExpMonth, &c.Summary.ExpYear,
		&c.Summary.Fingerprint, &c.Name, &c.PAN.KeyID, &c.PAN.Ciphertext, &created); err != nil {
		return nil, err
	}
	c.CreatedAt = fromTime(created)
	return &c, nil
}

// CreateCard inserts a stored card (its number sealed).
func (s cards) CreateCard(ctx context.Context, c *paygate.StoredCard) error {
	return s.db.Write(ctx, &Write{Key: "cards/" + c.ID, Stmts: []Stmt{s.stmt(failed("insert card"),
		`INSERT INTO cards (`+cardColumns+`) VALUES (`+placeholders(12)+`)`,
		c.ID, c.MerchantID, c.Summary.Brand, c.Summary.First6, c.Summary.Last4, c.Summary.ExpMonth, c.Summary.ExpYear,
		c.Summary.Fingerprint, c.Name, c.PAN.KeyID, c.PAN.Ciphertext, toTime(c.CreatedAt))}})
}

// Card returns one of a merchant's stored cards.
func (s cards) Card(ctx context.Context, merchantID, id string) (*paygate.StoredCard, error) {
	c, err := scanCard(s.queryRow(ctx, `SELECT `+cardColumns+` FROM cards WHERE id = ? AND merchant_id = ?`, id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("card", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select card: %w", err)
	}
	return c, nil
}

const dataKeyColumns = `id, wrapped, created_at, prev_id`

func scanDataKey(row Row) (paygate.WrappedKey, error) {
	var k paygate.WrappedKey
	var created sql.NullInt64
	var prev sql.NullString
	if err := row.Scan(&k.ID, &k.Wrapped, &created, &prev); err != nil {
		return paygate.WrappedKey{}, err
	}
	k.CreatedAt, k.Prev = fromTime(created), prev.String
	return k, nil
}

// DataKeys returns every wrapped data key, oldest first.
func (s cards) DataKeys(ctx context.Context) ([]paygate.WrappedKey, error) {
	return collect("data keys", scanDataKey)(s.query(ctx, `SELECT `+dataKeyColumns+` FROM data_keys ORDER BY id`))
}

// DataKey returns one wrapped data key.
func (s cards) DataKey(ctx context.Context, id string) (paygate.WrappedKey, error) {
	k, err := scanDataKey(s.queryRow(ctx, `SELECT `+dataKeyColumns+` FROM data_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return paygate.WrappedKey{}, notFound("data key", id)
	}
	if err != nil {
		return paygate.WrappedKey{}, fmt.Errorf("select data key: %w", err)
	}
	return k, nil
}

// CreateDataKey stores a wrapped data key, unless one already succeeds
// k.Prev (ErrDuplicate).
func (s cards) CreateDataKey(ctx context.Context, k paygate.WrappedKey) error {
	return s.db.Write(ctx, &Write{Key: "data_keys/" + k.ID, Stmts: []Stmt{s.stmt(s.unique("insert data key"),
		`INSERT INTO data_keys (`+dataKeyColumns+`) VALUES (?, ?, ?, ?)`, k.ID, k.Wrapped, toTime(k.CreatedAt), k.Prev)}})
}
