package sqlstore

import (
	"context"
	"time"

	"github.com/paygate/paygate"
)

// signing keeps merchants' signing secrets, sealed (secret.go).
type signing struct{ *store }

var _ paygate.SigningSecretStore = signing{}

// RotateSigningSecret stores ss and, in the same transaction, retires the
// merchant's current secrets (those with no ExpiresAt) at retireAt.
func (s signing) RotateSigningSecret(ctx context.Context, ss *paygate.SigningSecret, retireAt time.Time) error {
	return s.rotateSealed(ctx, "signing_secrets", "signing secret", sealedSecret(*ss), retireAt)
}

// SigningSecrets returns the merchant's secrets that have not expired at
// now, newest first.
func (s signing) SigningSecrets(ctx context.Context, merchantID string, now time.Time) ([]*paygate.SigningSecret, error) {
	rows, err := s.sealedInForce(ctx, "signing_secrets", "signing secret", merchantID, now)
	if err != nil {
		return nil, err
	}
	out := make([]*paygate.SigningSecret, len(rows))
	for i, r := range rows {
		ss := paygate.SigningSecret(r)
		out[i] = &ss
	}
	return out, nil
}
