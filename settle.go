package paygate

import (
	"context"
	"fmt"
)

// CloseBatch marks the merchant's captured, unsettled payments as settled.
// It is the cut-off of the end-of-day batch: after it a payment can no
// longer be voided, only refunded. Clearing and deposits build on it.
func (g *Gateway) CloseBatch(ctx context.Context, m *Merchant) (int64, error) {
	n, err := g.Payments.MarkSettled(ctx, m.ID, g.now())
	if err != nil {
		return 0, fmt.Errorf("close batch of %s: %w", m.ID, err)
	}
	return n, nil
}
