package paygate

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate/internal/jsonappend"
)

// Event types: what post-backs report. Wire names: add, never rename.
const (
	EventPaymentAuthorized = "payment.authorized" // an authorization approved (not captured)
	EventPaymentCaptured   = "payment.captured"   // a sale approved, or an authorization captured
	EventPaymentDeclined   = "payment.declined"   // the issuer or network said no
	EventPaymentFailed     = "payment.failed"     // no answer; reversed, nobody charged
	EventPaymentVoided     = "payment.voided"     // an authorization or unsettled sale undone
	EventPaymentExpired    = "payment.expired"    // an authorization not captured in time, released
	EventPaymentRefunded   = "payment.refunded"   // a refund succeeded (the event's refund says which)
	EventSessionCompleted  = "session.completed"  // a hosted session ended: approved, declined or canceled
	EventSecurityViolation = "security.violation" // a request broke a security rule (a transparent redirect sent its access key)
)

// EventTypes lists every event type, in the order they were added.
var EventTypes = []string{EventPaymentAuthorized, EventPaymentCaptured, EventPaymentDeclined, EventPaymentFailed,
	EventPaymentVoided, EventPaymentExpired, EventPaymentRefunded, EventSessionCompleted, EventSecurityViolation,
	EventBatchSettled, EventBatchOutOfBalance, EventDepositPaid}

// Event is one thing that happened to a merchant's payments, recorded in
// the same database transaction as the change it reports (an outbox), and
// posted to the merchant's webhook endpoints from there.
type Event struct {
	ID         string // "evt_..."
	MerchantID string
	Type       string
	PaymentID  string // "" for an event about no payment
	SessionID  string // the hosted session the payment belongs to, if any
	// Sequence is the session's attempt the payment was: for the payment
	// that ended a session, the same number the redirect, the proxy GET
	// and GetResult carry.
	Sequence  int
	Data      []byte // the JSON body posted (EventBody)
	CreatedAt time.Time
}

// EventBody is the JSON an event posts: Standard Webhooks' type,
// timestamp and data.
type EventBody struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      EventData `json:"data"`
}

// EventData is what an event says. Nothing of the card beyond its brand
// and last four digits.
type EventData struct {
	PaymentID          string `json:"payment_id,omitempty"`
	Status             string `json:"status,omitempty"` // the payment's status after the change
	Amount             int64  `json:"amount,omitempty"`
	Currency           string `json:"currency,omitempty"`
	AmountCaptured     int64  `json:"amount_captured,omitempty"`
	AmountRefunded     int64  `json:"amount_refunded,omitempty"`
	OrderID            string `json:"order_id,omitempty"`
	ConfirmationNumber string `json:"confirmation_number,omitempty"`
	AuthCode           string `json:"auth_code,omitempty"`
	DeclineCode        string `json:"decline_code,omitempty"`
	DeclineReason      string `json:"decline_reason,omitempty"`
	CardBrand          string `json:"card_brand,omitempty"`
	CardLast4          string `json:"card_last4,omitempty"`
	SessionID          string `json:"session_id,omitempty"`
	Outcome            string `json:"outcome,omitempty"` // session.completed: approved, declined, canceled
	Sequence           int    `json:"sequence,omitempty"`
	RefundID           string `json:"refund_id,omitempty"`
	RefundAmount       int64  `json:"refund_amount,omitempty"`
	// Violation says what a security.violation was (never the secret).
	Violation string `json:"violation,omitempty"`
	// Settlement: the batch and deposit, and (batch.settled,
	// deposit.paid) the deposit's net amount in Amount.
	BatchID     string `json:"batch_id,omitempty"`
	BatchNumber int64  `json:"batch_number,omitempty"`
	DepositID   string `json:"deposit_id,omitempty"`
	FundingDate string `json:"funding_date,omitempty"`
}

// newEvent makes an event with its body.
func newEvent(merchantID, typ string, d EventData, now time.Time) *Event {
	now = now.Truncate(TimePrecision)
	e := &Event{ID: NewID("evt", now), MerchantID: merchantID, Type: typ, PaymentID: d.PaymentID, SessionID: d.SessionID,
		Sequence: d.Sequence, CreatedAt: now}
	e.Data, _ = marshalEventBody(EventBody{ID: e.ID, Type: typ, Timestamp: now, Data: d}) // fails only past the year 9999
	return e
}

// sessionOfKey reads the session and attempt from a hosted session's
// payment's idempotency key ("cs_.../n").
func sessionOfKey(key string) (string, int) {
	id, n, ok := strings.Cut(key, "/")
	if !ok || !strings.HasPrefix(id, "cs_") {
		return "", 0
	}
	seq, err := strconv.Atoi(n)
	if err != nil {
		return "", 0
	}
	return id, seq
}

// paymentData is what events about p say.
func paymentData(p *Payment) EventData {
	d := EventData{PaymentID: p.ID, Status: string(p.Status), Amount: p.Amount, Currency: p.Currency.Code,
		AmountCaptured: p.AmountCaptured, AmountRefunded: p.AmountRefunded, OrderID: p.OrderID,
		AuthCode: p.AuthCode, DeclineCode: p.DeclineCode, DeclineReason: p.DeclineReason,
		CardBrand: p.Card.Brand, CardLast4: p.Card.Last4}
	if p.Approved() {
		d.ConfirmationNumber = p.ConfirmationNumber
	}
	d.SessionID, d.Sequence = sessionOfKey(p.IdempotencyKey)
	return d
}

// statusEvents maps the statuses a payment reaches to the events that
// report them (the statuses of work in flight report nothing; refunds
// report by refund).
var statusEvents = map[PaymentStatus]string{
	StatusAuthorized: EventPaymentAuthorized,
	StatusCaptured:   EventPaymentCaptured,
	StatusDeclined:   EventPaymentDeclined,
	StatusFailed:     EventPaymentFailed,
	StatusVoided:     EventPaymentVoided,
	StatusExpired:    EventPaymentExpired,
}

// PaymentEvents returns the events that saving p (and r, if not nil)
// reports: p's status reached since it was last read or written
// (p.SavedStatus), and r's success. A store writes them in the same
// transaction as p, then sets SavedStatus (and r's) to what it wrote.
func PaymentEvents(p *Payment, r *Refund, now time.Time) []*Event {
	var list []*Event
	if p.Status != p.SavedStatus {
		if typ, ok := statusEvents[p.Status]; ok && !(typ == EventPaymentCaptured && p.SavedStatus.refundedOrBeyond()) {
			list = append(list, newEvent(p.MerchantID, typ, paymentData(p), now))
		}
	}
	if r != nil && r.Status == RefundSucceeded && r.SavedStatus != RefundSucceeded {
		d := paymentData(p)
		d.RefundID, d.RefundAmount = r.ID, r.Amount
		list = append(list, newEvent(p.MerchantID, EventPaymentRefunded, d, now))
	}
	return list
}

// refundedOrBeyond: a payment back at "captured" from a refund state (a
// refund that failed) was captured already.
func (s PaymentStatus) refundedOrBeyond() bool {
	return s == StatusPartiallyRefunded || s == StatusRefunded
}

// SessionEvents returns the events that saving s reports: its outcome,
// reached since it was last read or written (s.SavedOutcome). A store
// writes them in the same transaction as s.
func SessionEvents(s *Session, now time.Time) []*Event {
	if s.Outcome == "" || s.Outcome == s.SavedOutcome {
		return nil
	}
	d := EventData{SessionID: s.ID, Outcome: s.Outcome, Sequence: s.Sequence, Amount: s.Amount,
		Currency: s.Currency.Code, OrderID: s.OrderID}
	if s.Outcome != OutcomeCanceled {
		d.PaymentID = s.PaymentID
	}
	return []*Event{newEvent(s.MerchantID, EventSessionCompleted, d, now)}
}

// SecurityViolation records that a request broke a security rule, for the
// merchant to see (GET /v1/events, post-backs). what says which rule;
// never a secret.
func (g *Gateway) SecurityViolation(ctx context.Context, merchantID, what string) error {
	if g.Events == nil {
		return nil
	}
	return g.Events.CreateEvent(ctx, newEvent(merchantID, EventSecurityViolation, EventData{Violation: what}, g.now()))
}

// EventFilter selects events for listing, newest first.
type EventFilter struct {
	MerchantID    string
	Type          string
	PaymentID     string
	StartingAfter string // an event id: return events older than it
	Limit         int
}

// EventStore keeps events. Events about payments and sessions are written
// by the payment and session stores, in the transactions of the changes
// they report (PaymentEvents, SessionEvents); with each event, a store
// writes a webhook delivery for each of the merchant's endpoints that
// takes its type.
type EventStore interface {
	// CreateEvent writes an event that no change carries (and its
	// deliveries).
	CreateEvent(ctx context.Context, e *Event) error
	Event(ctx context.Context, merchantID, id string) (*Event, error)
	Events(ctx context.Context, f EventFilter) (list []*Event, hasMore bool, err error)
}

// marshalEventBody writes b's JSON by hand, byte for byte as json.Marshal
// writes it (event_json_test.go holds it to that): encoding/json's reflection
// showed in the profile of a sale, which writes an event. A field added to
// EventBody or EventData must be added here too.
func marshalEventBody(e EventBody) ([]byte, error) {
	b := make([]byte, 0, 512)
	b = append(b, `{"id":`...)
	b = jsonappend.String(b, e.ID)
	b = append(b, `,"type":`...)
	b = jsonappend.String(b, e.Type)
	b = append(b, `,"timestamp":`...)
	b, err := jsonappend.Time(b, e.Timestamp)
	if err != nil {
		return nil, err
	}
	b = append(b, `,"data":{`...)
	open := len(b)
	str := func(key, s string) {
		if s == "" {
			return
		}
		if len(b) > open {
			b = append(b, ',')
		}
		b = jsonappend.String(append(b, key...), s)
	}
	num := func(key string, n int64) {
		if n == 0 {
			return
		}
		if len(b) > open {
			b = append(b, ',')
		}
		b = strconv.AppendInt(append(b, key...), n, 10)
	}
	d := e.Data
	str(`"payment_id":`, d.PaymentID)
	str(`"status":`, d.Status)
	num(`"amount":`, d.Amount)
	str(`"currency":`, d.Currency)
	num(`"amount_captured":`, d.AmountCaptured)
	num(`"amount_refunded":`, d.AmountRefunded)
	str(`"order_id":`, d.OrderID)
	str(`"confirmation_number":`, d.ConfirmationNumber)
	str(`"auth_code":`, d.AuthCode)
	str(`"decline_code":`, d.DeclineCode)
	str(`"decline_reason":`, d.DeclineReason)
	str(`"card_brand":`, d.CardBrand)
	str(`"card_last4":`, d.CardLast4)
	str(`"session_id":`, d.SessionID)
	str(`"outcome":`, d.Outcome)
	num(`"sequence":`, int64(d.Sequence))
	str(`"refund_id":`, d.RefundID)
	num(`"refund_amount":`, d.RefundAmount)
	str(`"violation":`, d.Violation)
	str(`"batch_id":`, d.BatchID)
	num(`"batch_number":`, d.BatchNumber)
	str(`"deposit_id":`, d.DepositID)
	str(`"funding_date":`, d.FundingDate)
	return append(b, `}}`...), nil
}
