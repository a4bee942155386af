package client

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Status is the state of a payment.
type Status string

// Payment statuses.
const (
	StatusPending           Status = "pending"    // the authorization is on its way to the card's issuer
	StatusAuthorized        Status = "authorized" // held on the card; capture or void it
	StatusCaptured          Status = "captured"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	StatusVoided            Status = "voided"
	StatusDeclined          Status = "declined"
	StatusFailed            Status = "failed"    // no answer from the network; reversed, nobody is charged
	StatusCapturing         Status = "capturing" // captured; the capture is on its way to the network
	StatusVoiding           Status = "voiding"   // voided; the reversal is on its way to the network
	StatusExpired           Status = "expired"   // not captured in time; the hold was released
)

// Statuses lists every payment status the server reports, in the order
// they were added.
var Statuses = []Status{StatusPending, StatusAuthorized, StatusCaptured, StatusPartiallyRefunded,
	StatusRefunded, StatusVoided, StatusDeclined, StatusFailed, StatusCapturing, StatusVoiding, StatusExpired}

// Payment is a payment as the server reports it. Amounts are in the
// currency's minor units (cents for USD). Times the payment has not reached
// yet are nil.
type Payment struct {
	ID     string `json:"id"` // "pay_..."
	Object string `json:"object"`
	Status Status `json:"status"`

	Amount           int64  `json:"amount"`
	Currency         string `json:"currency"` // ISO 4217, such as "USD"
	AmountCaptured   int64  `json:"amount_captured"`
	AmountRefunded   int64  `json:"amount_refunded"`
	AmountRefundable int64  `json:"amount_refundable"`

	Card *Card `json:"card,omitempty"`

	ConfirmationNumber string `json:"confirmation_number"` // for the customer, such as "PG-7K3M-9QX2"
	AuthCode           string `json:"auth_code"`
	RRN                string `json:"rrn"`           // retrieval reference number
	ResponseCode       string `json:"response_code"` // ISO 8583 field 39, "00" when approved
	DeclineCode        string `json:"decline_code"`
	DeclineReason      string `json:"decline_reason"`

	Description string            `json:"description"`
	OrderID     string            `json:"order_id"`
	Metadata    map[string]string `json:"metadata,omitempty"`

	RequireAck  bool       `json:"require_ack"`
	AckDeadline *time.Time `json:"ack_deadline,omitempty"`
	AckedAt     *time.Time `json:"acked_at,omitempty"`
	VoidReason  string     `json:"void_reason"`

	CreatedAt  time.Time  `json:"created_at"`
	CapturedAt *time.Time `json:"captured_at,omitempty"`
	VoidedAt   *time.Time `json:"voided_at,omitempty"`
	SettledAt  *time.Time `json:"settled_at,omitempty"`

	Refunds []*Refund `json:"refunds,omitempty"`
}

// PaymentParams describe a payment to create. Set exactly one of Card and
// CardID.
type PaymentParams struct {
	Amount   int64  // in minor units
	Currency string // ISO 4217, such as "USD"

	Card   *CardParams // a card typed in now
	CardID string      // or a stored card, "card_..."

	// Capture false asks for an authorization only: the amount is held on
	// the card until Capture or Void. Nil means the server's default, true.
	Capture *bool

	Description  string
	OrderID      string
	Metadata     map[string]string
	RequireAck   *bool // nil means the merchant's default
	ReceiptEmail string

	// IdempotencyKey makes the request safe to send more than once: the
	// server performs it once and answers any repeat with the same result.
	// Empty means the client makes a fresh key for this call (reused by its
	// own retries). Set your own, derived from your order, to be safe across
	// restarts of your process too. At most 255 characters.
	IdempotencyKey string
}

type paymentWire struct {
	Amount       int64             `json:"amount"`
	Currency     string            `json:"currency"`
	Card         *cardWire         `json:"card,omitempty"`
	CardID       string            `json:"card_id,omitempty"`
	Capture      *bool             `json:"capture,omitempty"`
	Description  string            `json:"description,omitempty"`
	OrderID      string            `json:"order_id,omitempty"`
	Metadata     map[string]string `json:"metadata,omitempty"`
	RequireAck   *bool             `json:"require_ack,omitempty"`
	ReceiptEmail string            `json:"receipt_email,omitempty"`
}

// CaptureParams describe the capture of an authorized payment.
type CaptureParams struct {
	Amount         *int64 `json:"amount,omitempty"` // nil captures the whole authorization
	IdempotencyKey string `json:"-"`                // see PaymentParams
}

// ListParams filter and page ListPayments and Payments. Zero fields are not
// sent.
type ListParams struct {
	Limit         int    // page size; zero means the server's default
	StartingAfter string // a payment ID: list what comes after it
	Status        Status
	OrderID       string
	CreatedGTE    time.Time // created at or after
	CreatedLTE    time.Time // created at or before
}

func (p ListParams) query() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.StartingAfter != "" {
		q.Set("starting_after", p.StartingAfter)
	}
	if p.Status != "" {
		q.Set("status", string(p.Status))
	}
	if p.OrderID != "" {
		q.Set("order_id", p.OrderID)
	}
	if !p.CreatedGTE.IsZero() {
		q.Set("created_gte", p.CreatedGTE.Format(time.RFC3339Nano))
	}
	if !p.CreatedLTE.IsZero() {
		q.Set("created_lte", p.CreatedLTE.Format(time.RFC3339Nano))
	}
	return q
}

// PaymentList is one page of payments, newest first as the server orders
// them.
type PaymentList struct {
	Object  string     `json:"object"`
	Data    []*Payment `json:"data"`
	HasMore bool       `json:"has_more"` // more pages after this one
}

// CreatePayment charges a card: a sale, or an authorization only when
// p.Capture points to false. A declined card is an *Error for which
// IsDeclined is true; the declined payment is recorded under its PaymentID.
func (c *Client) CreatePayment(ctx context.Context, p PaymentParams) (*Payment, error) {
	w := paymentWire{
		Amount:       p.Amount,
		Currency:     p.Currency,
		Card:         p.Card.wire(),
		CardID:       p.CardID,
		Capture:      p.Capture,
		Description:  p.Description,
		OrderID:      p.OrderID,
		Metadata:     p.Metadata,
		RequireAck:   p.RequireAck,
		ReceiptEmail: p.ReceiptEmail,
	}
	return c.payment(ctx, "/v1/payments", w, p.IdempotencyKey)
}

// GetPayment returns the payment with the given ID.
func (c *Client) GetPayment(ctx context.Context, id string) (*Payment, error) {
	path, err := paymentPath(id, "")
	if err != nil {
		return nil, err
	}
	pay := new(Payment)
	if err := c.get(ctx, path, nil, pay); err != nil {
		return nil, err
	}
	return pay, nil
}

// ListPayments returns one page of payments. To walk all of them use
// Payments.
func (c *Client) ListPayments(ctx context.Context, p ListParams) (*PaymentList, error) {
	list := new(PaymentList)
	if err := c.get(ctx, "/v1/payments", p.query(), list); err != nil {
		return nil, err
	}
	return list, nil
}

// Payments walks every payment that p selects, fetching page after page as
// the loop asks for more:
//
//	for pay, err := range c.Payments(ctx, client.ListParams{Status: client.StatusCaptured}) {
//		if err != nil {
//			return err
//		}
//		...
//	}
//
// After an error the sequence ends.
func (c *Client) Payments(ctx context.Context, p ListParams) iter.Seq2[*Payment, error] {
	return func(yield func(*Payment, error) bool) {
		for {
			page, err := c.ListPayments(ctx, p)
			if err != nil {
				yield(nil, err)
				return
			}
			for _, pay := range page.Data {
				if !yield(pay, nil) {
					return
				}
			}
			if !page.HasMore || len(page.Data) == 0 {
				return
			}
			p.StartingAfter = page.Data[len(page.Data)-1].ID
		}
	}
}

// Capture settles an authorized payment, for its whole amount or, with
// p.Amount, for less.
func (c *Client) Capture(ctx context.Context, id string, p CaptureParams) (*Payment, error) {
	path, err := paymentPath(id, "/capture")
	if err != nil {
		return nil, err
	}
	return c.payment(ctx, path, p, p.IdempotencyKey)
}

// Void cancels an authorized payment, releasing the hold on the card.
func (c *Client) Void(ctx context.Context, id string) (*Payment, error) {
	path, err := paymentPath(id, "/void")
	if err != nil {
		return nil, err
	}
	return c.payment(ctx, path, nil, "")
}

// Ack acknowledges that the customer received the payment's receipt, for
// payments with RequireAck set.
func (c *Client) Ack(ctx context.Context, id string) (*Payment, error) {
	path, err := paymentPath(id, "/ack")
	if err != nil {
		return nil, err
	}
	return c.payment(ctx, path, nil, "")
}

// payment posts body to path and decodes the Payment that comes back.
func (c *Client) payment(ctx context.Context, path string, body any, key string) (*Payment, error) {
	pay := new(Payment)
	if err := c.post(ctx, path, body, key, pay); err != nil {
		return nil, err
	}
	return pay, nil
}

func paymentPath(id, action string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("paygate: empty payment id")
	}
	return "/v1/payments/" + url.PathEscape(id) + action, nil
}
