package paygate

import (
	"context"
	"errors"
	"time"
)

// PaymentStatus is where a payment stands. Wire names: add, never rename.
type PaymentStatus string

const (
	StatusPending           PaymentStatus = "pending"            // recorded, the authorization is on the network
	StatusAuthorized        PaymentStatus = "authorized"         // hold placed, not captured
	StatusCaptured          PaymentStatus = "captured"           // captured (sale or capture)
	StatusPartiallyRefunded PaymentStatus = "partially_refunded" // captured, part refunded
	StatusRefunded          PaymentStatus = "refunded"           // captured, all refunded
	StatusVoided            PaymentStatus = "voided"             // authorization or unsettled sale undone
	StatusDeclined          PaymentStatus = "declined"           // the issuer or network said no
	StatusFailed            PaymentStatus = "failed"             // no answer; reversed so nobody is charged
	StatusCapturing         PaymentStatus = "capturing"          // a capture advice is on its way
	StatusVoiding           PaymentStatus = "voiding"            // a reversal is on its way
	StatusExpired           PaymentStatus = "expired"            // authorization not captured in time; reversed
)

// PaymentStatuses lists every status, in the order they were added.
var PaymentStatuses = []PaymentStatus{StatusPending, StatusAuthorized, StatusCaptured, StatusPartiallyRefunded,
	StatusRefunded, StatusVoided, StatusDeclined, StatusFailed, StatusCapturing, StatusVoiding, StatusExpired}

// InDoubt reports whether a network exchange is in progress or was cut off.
func (s PaymentStatus) InDoubt() bool {
	return s == StatusPending || s == StatusCapturing || s == StatusVoiding
}

// Payment is one card payment and everything that happened to it.
type Payment struct {
	ID                 string
	MerchantID         string
	Status             PaymentStatus
	Amount             int64 // authorized amount, minor units
	Currency           Currency
	AmountCaptured     int64
	AmountRefunded     int64   // includes refunds in flight, so concurrent refunds cannot exceed
	CaptureRequested   bool    // true for a sale
	Channel            Channel // ChannelEcommerce unless keyed in on the Virtual Terminal
	Card               CardSummary
	PAN                EncryptedPAN
	CardID             string // the stored card charged, if any
	ConfirmationNumber string
	STAN               string
	RRN                string
	TransmittedAt      time.Time // DE7 of the original request
	AuthCode           string
	ResponseCode       string
	DeclineCode        string
	DeclineReason      string
	Description        string
	OrderID            string
	Metadata           map[string]string
	ReceiptEmail       string
	RequireAck         bool
	AckDeadline        time.Time
	AckedAt            time.Time
	VoidReason         string
	IdempotencyKey     string
	// RequestHash is the keyed hash of the API request that made the
	// payment under IdempotencyKey, while the key lasts: such a payment is
	// its own idempotency record, and its key is its alone. Empty for a
	// payment made otherwise, and once the key expired.
	RequestHash string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CapturedAt  time.Time
	VoidedAt    time.Time
	SettledAt   time.Time
	Version     int // optimistic lock: every update bumps it
	// SavedStatus is Status as last read from or written to the store:
	// saving a payment reports the status it reached since (PaymentEvents).
	SavedStatus PaymentStatus

	Refunds []*Refund
	// Trace is every message the payment sent to the network and every
	// answer, oldest first.
	Trace []TraceEntry
}

// Approved reports whether the issuer approved the payment (whatever happened after).
func (p *Payment) Approved() bool { return p.AuthCode != "" && p.ResponseCode == ResponseApproved }

// Settled reports whether the payment has gone out in a settlement batch.
func (p *Payment) Settled() bool { return !p.SettledAt.IsZero() }

// Refundable is what is left to refund.
func (p *Payment) Refundable() int64 {
	if p.Status != StatusCaptured && p.Status != StatusPartiallyRefunded {
		return 0
	}
	return p.AmountCaptured - p.AmountRefunded
}

// CheckCapture validates a capture of amount (0 = the full authorization).
// It returns the amount to capture.
func (p *Payment) CheckCapture(amount int64) (int64, error) {
	switch p.Status {
	case StatusAuthorized:
	case StatusCaptured, StatusPartiallyRefunded, StatusRefunded:
		return 0, Errorf(ECONFLICT, "Payment %s has already been captured.", p.ID)
	case StatusCapturing:
		return 0, Errorf(ECONFLICT, "Payment %s is already being captured.", p.ID)
	default:
		return 0, Errorf(ECONFLICT, "Payment %s is %s and cannot be captured.", p.ID, p.Status)
	}
	if amount == 0 {
		return p.Amount, nil
	}
	if err := ValidateAmount(amount, "amount"); err != nil {
		return 0, err
	}
	if amount > p.Amount {
		return 0, ParamErrorf(EAMOUNTTOOLARGE, "amount", "Capture amount %s is more than the authorized %s.",
			FormatAmount(amount, p.Currency), FormatAmount(p.Amount, p.Currency))
	}
	return amount, nil
}

// CheckVoid validates a void: an uncaptured authorization, or a captured
// payment that has not been settled nor refunded.
func (p *Payment) CheckVoid() error {
	switch p.Status {
	case StatusAuthorized:
		return nil
	case StatusCaptured:
		if p.Settled() {
			return Errorf(ECONFLICT, "Payment %s has been settled and cannot be voided; refund it instead.", p.ID)
		}
		if p.AmountRefunded > 0 { // a refund is in flight: its amount is reserved before it is sent
			return Errorf(ECONFLICT, "Payment %s has refunds and cannot be voided.", p.ID)
		}
		return nil
	case StatusPartiallyRefunded, StatusRefunded:
		return Errorf(ECONFLICT, "Payment %s has refunds and cannot be voided.", p.ID)
	case StatusVoided:
		return Errorf(ECONFLICT, "Payment %s has already been voided.", p.ID)
	case StatusVoiding:
		return Errorf(ECONFLICT, "Payment %s is already being voided.", p.ID)
	case StatusExpired:
		return Errorf(ECONFLICT, "Payment %s has expired: its authorization was released.", p.ID)
	}
	return Errorf(ECONFLICT, "Payment %s is %s and cannot be voided.", p.ID, p.Status)
}

// CheckRefund validates a refund of amount (0 = all that is left). It returns
// the amount to refund.
func (p *Payment) CheckRefund(amount int64) (int64, error) {
	switch p.Status {
	case StatusCaptured, StatusPartiallyRefunded:
	case StatusRefunded:
		return 0, Errorf(ECONFLICT, "Payment %s has already been fully refunded.", p.ID)
	case StatusAuthorized:
		return 0, Errorf(ECONFLICT, "Payment %s has not been captured; void it instead.", p.ID)
	default:
		return 0, Errorf(ECONFLICT, "Payment %s is %s and cannot be refunded.", p.ID, p.Status)
	}
	left := p.Refundable()
	if amount == 0 {
		amount = left
	}
	if err := ValidateAmount(amount, "amount"); err != nil {
		return 0, err
	}
	if amount > left {
		return 0, ParamErrorf(EAMOUNTTOOLARGE, "amount", "Refund amount %s is more than the %s left to refund.",
			FormatAmount(amount, p.Currency), FormatAmount(left, p.Currency))
	}
	return amount, nil
}

// CheckAck validates a receipt acknowledgment.
func (p *Payment) CheckAck() error {
	switch p.Status {
	case StatusAuthorized, StatusCaptured, StatusPartiallyRefunded, StatusRefunded, StatusCapturing:
		return nil
	case StatusVoided:
		if p.VoidReason == VoidAckTimeout {
			return Errorf(ECONFLICT, "Payment %s was voided because it was not acknowledged in time.", p.ID)
		}
	}
	return Errorf(ECONFLICT, "Payment %s is %s and cannot be acknowledged.", p.ID, p.Status)
}

// refundStatus derives the status of a captured payment from its amounts.
func (p *Payment) refundStatus() PaymentStatus {
	switch {
	case p.AmountRefunded == 0:
		return StatusCaptured
	case p.AmountRefunded >= p.AmountCaptured:
		return StatusRefunded
	}
	return StatusPartiallyRefunded
}

// Void reasons. Wire names.
const (
	VoidRequested  = "requested"   // the merchant asked
	VoidAckTimeout = "ack_timeout" // not acknowledged within the window
	VoidExpired    = "authorization_expired"
)

// RefundStatus is where a refund stands. Wire names.
type RefundStatus string

const (
	RefundPending   RefundStatus = "pending"
	RefundSucceeded RefundStatus = "succeeded"
	RefundFailed    RefundStatus = "failed"
)

// Refund returns some or all of a captured payment to the cardholder.
type Refund struct {
	ID             string
	PaymentID      string
	MerchantID     string
	Amount         int64
	Currency       Currency
	Status         RefundStatus
	Reason         string
	STAN           string
	RRN            string
	TransmittedAt  time.Time
	ResponseCode   string
	IdempotencyKey string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// SavedStatus is Status as last read from or written to the store.
	SavedStatus RefundStatus
}

// PaymentFilter selects payments for listing. Results come newest first.
type PaymentFilter struct {
	MerchantID string
	Status     PaymentStatus
	OrderID    string
	CreatedGTE time.Time
	CreatedLTE time.Time
	Currency   string  // an ISO 4217 code, "" for any
	Channel    Channel // "" for any
	// Query is free text a person typed: a payment id, an order id, a
	// confirmation number, the card's last 4, an amount in major units
	// ("12.50") or a receipt e-mail. A payment matches if any of them
	// equals it (see SearchTerms).
	Query         string
	StartingAfter string // a payment id: return payments older than it
	// EndingBefore is a payment id: return the page of payments newer than
	// it (the page before), still newest first. Ignored with StartingAfter.
	EndingBefore string
	Limit        int
}

// ErrVersionConflict is returned by a store when an update lost a race.
var ErrVersionConflict = errors.New("payment was changed concurrently")

// ErrDuplicate is returned by a store when a unique value is already taken.
var ErrDuplicate = errors.New("duplicate value")

// ErrKeyRecorded is returned by a store asked to record a payment as its
// idempotency key's record (Payment.RequestHash set) when the key already
// names a payment that is not such a record: one made before payments were
// their own records, or whose key expired. The key's older record, if it
// still has one, decides; nothing was written.
var ErrKeyRecorded = errors.New("idempotency key has an older record")

// PaymentStore keeps payments and refunds. Updates are conditional on
// Version (optimistic locking): a store bumps it and returns
// ErrVersionConflict if the row moved on.
type PaymentStore interface {
	// CreatePayment records a new payment; ErrDuplicate if a unique value
	// (confirmation number, RRN, idempotency key) is taken, ErrKeyRecorded
	// if p is its key's record and the key names a payment made otherwise.
	CreatePayment(ctx context.Context, p *Payment) error
	UpdatePayment(ctx context.Context, p *Payment) error
	// SaveRefund inserts or updates r and updates p in one transaction.
	SaveRefund(ctx context.Context, p *Payment, r *Refund) error
	Payment(ctx context.Context, merchantID, id string) (*Payment, error)
	Payments(ctx context.Context, f PaymentFilter) (list []*Payment, hasMore bool, err error)
	// InDoubt returns payments left pending, capturing or voiding, and
	// payments with a pending refund, last updated before the given time.
	InDoubt(ctx context.Context, before time.Time, limit int) ([]*Payment, error)
	// AckOverdue returns approved payments that required acknowledgment,
	// were not acknowledged, and whose deadline is before now.
	AckOverdue(ctx context.Context, now time.Time, limit int) ([]*Payment, error)
	// MarkSettled stamps the merchant's captured, unsettled payments as
	// settled at the given time and returns how many.
	MarkSettled(ctx context.Context, merchantID string, at time.Time) (int64, error)
	// StaleAuthorizations returns authorized (uncaptured) payments created
	// before the given time.
	StaleAuthorizations(ctx context.Context, createdBefore time.Time, limit int) ([]*Payment, error)
	// PaymentByIdempotencyKey and RefundByIdempotencyKey find what a
	// request with that Idempotency-Key created (the newest, if several),
	// or return an ENOTFOUND error.
	PaymentByIdempotencyKey(ctx context.Context, merchantID, key string) (*Payment, error)
	RefundByIdempotencyKey(ctx context.Context, merchantID, key string) (*Refund, error)
	// PaymentStats sums up a merchant's payments day by day (stats.go).
	PaymentStats(ctx context.Context, q StatsQuery) (*PaymentStats, error)
}
