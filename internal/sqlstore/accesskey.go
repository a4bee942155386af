package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/paygate/paygate"
)

// accessKeys keeps merchants' access keys, sealed.
type accessKeys struct{ *store }

var _ paygate.AccessKeyStore = accessKeys{}

const accessKeyColumns = `id, merchant_id, key_id, ciphertext, created_at, expires_at`

func scanAccessKey(row Row) (*paygate.AccessKey, error) {
	var k paygate.AccessKey
	var created, expires sql.NullInt64
	if err := row.Scan(&k.ID, &k.MerchantID, &k.Sealed.KeyID, &k.Sealed.Ciphertext, &created, &expires); err != nil {
		return nil, err
	}
	k.CreatedAt, k.ExpiresAt = fromTime(created), fromTime(expires)
	return &k, nil
}

// RotateAccessKey stores k and, in the same transaction, retires the
// merchant's current keys (those with no ExpiresAt) at retireAt.
//
// It locks the merchant's row first, so that rotations of one merchant's
// key take turns: each retires the key the one before it stored,
// and one key at most is current (a unique index holds to it).
func (s accessKeys) RotateAccessKey(ctx context.Context, k *paygate.AccessKey, retireAt time.Time) error {
	return s.db.Write(ctx, &Write{Key: "merchants/" + k.MerchantID, Stmts: []Stmt{
		s.stmt(changed("lock merchant", notFound("merchant", k.MerchantID)),
			`UPDATE merchants SET id = id WHERE id = ?`, k.MerchantID),
		s.stmt(failed("retire access keys"),
			`UPDATE access_keys SET expires_at = ? WHERE merchant_id = ? AND expires_at IS NULL`,
			toTime(retireAt), k.MerchantID),
		s.stmt(s.unique("insert access key"),
			`INSERT INTO access_keys (`+accessKeyColumns+`) VALUES (`+placeholders(6)+`)`,
			k.ID, k.MerchantID, k.Sealed.KeyID, k.Sealed.Ciphertext, toTime(k.CreatedAt), toTime(k.ExpiresAt)),
	}})
}

// AccessKeys returns the merchant's keys that have not expired at
// now, newest first.
func (s accessKeys) AccessKeys(ctx context.Context, merchantID string, now time.Time) ([]*paygate.AccessKey, error) {
	return collect("access keys", scanAccessKey)(s.query(ctx, `SELECT `+accessKeyColumns+` FROM access_keys
		WHERE merchant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id DESC`,
		merchantID, now.UnixMicro()))
}
