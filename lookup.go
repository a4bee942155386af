package paygate

import "context"

// Payment returns one of the merchant's payments.
func (g *Gateway) Payment(ctx context.Context, m *Merchant, id string) (*Payment, error) {
	return g.Payments.Payment(ctx, m.ID, id)
}

// PaymentByIdempotencyKey returns what a request with that key created.
func (g *Gateway) PaymentByIdempotencyKey(ctx context.Context, m *Merchant, key string) (*Payment, error) {
	return g.Payments.PaymentByIdempotencyKey(ctx, m.ID, key)
}

// RefundByIdempotencyKey returns the refund a request with that key created.
func (g *Gateway) RefundByIdempotencyKey(ctx context.Context, m *Merchant, key string) (*Refund, error) {
	return g.Payments.RefundByIdempotencyKey(ctx, m.ID, key)
}

// ListPayments returns a page of the merchant's payments, newest first.
func (g *Gateway) ListPayments(ctx context.Context, m *Merchant, f PaymentFilter) ([]*Payment, bool, error) {
	f.MerchantID = m.ID
	switch {
	case f.Limit == 0:
		f.Limit = 10
	case f.Limit < 0 || f.Limit > 100:
		return nil, false, ParamErrorf(EINVALID, "limit", "Limit must be between 1 and 100.")
	}
	if f.StartingAfter != "" {
		// A cursor that is none of the merchant's payments would page
		// from wherever its id sorts: refuse it rather than guess.
		if _, err := g.Payments.Payment(ctx, m.ID, f.StartingAfter); ErrorCode(err) == ENOTFOUND {
			return nil, false, ParamErrorf(EMALFORMED, "starting_after", "Parameter \"starting_after\" must be the id of one of your payments; there is no payment %s.", sanitize(f.StartingAfter, 40))
		} else if err != nil {
			return nil, false, err
		}
	}
	return g.Payments.Payments(ctx, f)
}
