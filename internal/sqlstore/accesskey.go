package sqlstore

import (
	"context"
	"time"

	"github.com/paygate/paygate"
)

// accessKeys keeps merchants' access keys, sealed (secret.go).
type accessKeys struct{ *store }

var _ paygate.AccessKeyStore = accessKeys{}

// RotateAccessKey stores k and, in the same transaction, retires the
// merchant's current keys (those with no ExpiresAt) at retireAt.
func (s accessKeys) RotateAccessKey(ctx context.Context, k *paygate.AccessKey, retireAt time.Time) error {
	return s.rotateSealed(ctx, "access_keys", "access key", sealedSecret(*k), retireAt)
}

// AccessKeys returns the merchant's keys that have not expired at now,
// newest first.
func (s accessKeys) AccessKeys(ctx context.Context, merchantID string, now time.Time) ([]*paygate.AccessKey, error) {
	rows, err := s.sealedInForce(ctx, "access_keys", "access key", merchantID, now)
	if err != nil {
		return nil, err
	}
	out := make([]*paygate.AccessKey, len(rows))
	for i, r := range rows {
		k := paygate.AccessKey(r)
		out[i] = &k
	}
	return out, nil
}
