package client

import (
	"context"
	"time"
)

// Refund statuses.
const (
	RefundSucceeded = "succeeded"
	RefundFailed    = "failed"
	RefundPending   = "pending" // on its way to the network (seen among a payment's Refunds)
)

// Refund returns money from a captured payment to the card.
type Refund struct {
	ID           string    `json:"id"` // "re_..."
	Object       string    `json:"object"`
	PaymentID    string    `json:"payment_id"`
	Amount       int64     `json:"amount"`
	Currency     string    `json:"currency"`
	Status       string    `json:"status"` // RefundSucceeded or RefundFailed; RefundPending while in flight
	Reason       string    `json:"reason"`
	ResponseCode string    `json:"response_code"`
	CreatedAt    time.Time `json:"created_at"`
}

// RefundParams describe a refund.
type RefundParams struct {
	Amount         *int64 `json:"amount,omitempty"` // nil refunds all that is left
	Reason         string `json:"reason,omitempty"`
	IdempotencyKey string `json:"-"` // see PaymentParams
}

// Refund refunds the captured payment with the given ID, wholly or in part.
func (c *Client) Refund(ctx context.Context, id string, p RefundParams) (*Refund, error) {
	path, err := paymentPath(id, "/refunds")
	if err != nil {
		return nil, err
	}
	r := new(Refund)
	if err := c.post(ctx, path, p, p.IdempotencyKey, r); err != nil {
		return nil, err
	}
	return r, nil
}
