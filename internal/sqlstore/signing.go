package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/paygate/paygate"
)

// signing keeps merchants' signing secrets, sealed.
type signing struct{ *store }

var _ paygate.SigningSecretStore = signing{}

const signingColumns = `id, merchant_id, key_id, ciphertext, created_at, expires_at`

func scanSigningSecret(row Row) (*paygate.SigningSecret, error) {
	var s paygate.SigningSecret
	var created, expires sql.NullInt64
	if err := row.Scan(&s.ID, &s.MerchantID, &s.Sealed.KeyID, &s.Sealed.Ciphertext, &created, &expires); err != nil {
		return nil, err
	}
	s.CreatedAt, s.ExpiresAt = fromTime(created), fromTime(expires)
	return &s, nil
}

// RotateSigningSecret stores ss and, in the same transaction, retires the
// merchant's current secrets (those with no ExpiresAt) at retireAt.
//
// It locks the merchant's row first, so that rotations of one merchant's
// secret take turns: each retires the secret the one before it stored,
// and one secret at most is current (a unique index holds to it).
func (s signing) RotateSigningSecret(ctx context.Context, ss *paygate.SigningSecret, retireAt time.Time) error {
	return s.db.Write(ctx, &Write{Key: "merchants/" + ss.MerchantID, Stmts: []Stmt{
		s.stmt(changed("lock merchant", notFound("merchant", ss.MerchantID)),
			`UPDATE merchants SET id = id WHERE id = ?`, ss.MerchantID),
		s.stmt(failed("retire signing secrets"),
			`UPDATE signing_secrets SET expires_at = ? WHERE merchant_id = ? AND expires_at IS NULL`,
			toTime(retireAt), ss.MerchantID),
		s.stmt(s.unique("insert signing secret"),
			`INSERT INTO signing_secrets (`+signingColumns+`) VALUES (`+placeholders(6)+`)`,
			ss.ID, ss.MerchantID, ss.Sealed.KeyID, ss.Sealed.Ciphertext, toTime(ss.CreatedAt), toTime(ss.ExpiresAt)),
	}})
}

// SigningSecrets returns the merchant's secrets that have not expired at
// now, newest first.
func (s signing) SigningSecrets(ctx context.Context, merchantID string, now time.Time) ([]*paygate.SigningSecret, error) {
	return collect("signing secrets", scanSigningSecret)(s.query(ctx, `SELECT `+signingColumns+` FROM signing_secrets
		WHERE merchant_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY created_at DESC, id DESC`,
		merchantID, now.UnixMicro()))
}
