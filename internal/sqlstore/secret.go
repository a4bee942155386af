package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/paygate/paygate"
)

// sealedSecret is a row of a table of merchants' sealed secrets that are
// rotated with an overlap (signing_secrets, access_keys): the SQL of both
// is written once here.
type sealedSecret struct {
	ID, MerchantID       string
	Sealed               paygate.EncryptedPAN
	CreatedAt, ExpiresAt time.Time
}

const sealedSecretColumns = `id, merchant_id, key_id, ciphertext, created_at, expires_at`

func scanSealedSecret(row Row) (sealedSecret, error) {
	var k sealedSecret
	var created, expires sql.NullInt64
	if err := row.Scan(&k.ID, &k.MerchantID, &k.Sealed.KeyID, &k.Sealed.Ciphertext, &created, &expires); err != nil {
		return k, err
	}
	k.CreatedAt, k.ExpiresAt = fromTime(created), fromTime(expires)
	return k, nil
}

// rotateSealed stores k in table and, in the same transaction, retires the
// merchant's current rows (those with no expires_at) at retireAt. It locks
// the merchant's row first, so that rotations of one merchant take turns:
// each retires what the one before it stored, and one row at most is
// current (a unique index holds to it). what names the rows in errors.
func (s *store) rotateSealed(ctx context.Context, table, what string, k sealedSecret, retireAt time.Time) error {
	return s.db.Write(ctx, &Write{Key: "merchants/" + k.MerchantID, Stmts: []Stmt{
		s.stmt(changed("lock merchant", notFound("merchant", k.MerchantID)),
			`UPDATE merchants SET id = id WHERE id = ?`, k.MerchantID),
		s.stmt(failed("retire "+what+"s"),
			`UPDATE `+table+` SET expires_at = ? WHERE merchant_id = ? AND expires_at IS NULL`,
			toTime(retireAt), k.MerchantID),
		s.stmt(s.unique("insert "+what),
			`INSERT INTO `+table+` (`+sealedSecretColumns+`) VALUES (`+placeholders(6)+`)`,
			k.ID, k.MerchantID, k.Sealed.KeyID, k.Sealed.Ciphertext, toTime(k.CreatedAt), toTime(k.ExpiresAt)),
	}})
}

// sealedInForce returns the merchant's rows of table that have not
// expired at now, newest first.
func (s *store) sealedInForce(ctx context.Context, table, what, merchantID string, now time.Time) ([]sealedSecret, error) {
	return collect(what+"s", scanSealedSecret)(s.query(ctx, `SELECT `+sealedSecretColumns+` FROM `+table+`
		WHERE merchant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id DESC`,
		merchantID, now.UnixMicro()))
}
