package paygate

import (
	"context"
	"errors"
	"time"
)

// E-mail confirmations (issue 12). When a payment is approved, voided or
// refunded, the payment store writes mail for the customer (the payment's
// ReceiptEmail) and for the merchant (its NotifyEmail) in the same
// transaction as the change, as it writes events: an outbox. A worker
// claimed from the database sends it (SendMail); without a sender it is
// kept, readable in the merchant's outbox (ListMail).

// Mail kinds. Wire names: add, never rename.
const (
	MailReceipt      = "receipt"       // the customer's receipt of an approval
	MailRefundNotice = "refund_notice" // a refund succeeded (customer and merchant)
	MailVoidNotice   = "void_notice"   // an approved payment was voided (customer and merchant)
	MailMerchantCopy = "merchant_copy" // the merchant's copy of an approval
)

// Mail recipients. Wire names.
const (
	MailToCustomer = "customer" // the payment's ReceiptEmail
	MailToMerchant = "merchant" // the merchant's NotifyEmail, as it was when the mail was queued
)

// Mail statuses. Wire names.
const (
	MailQueued = "queued" // waiting for the worker (or, while claimed, being sent)
	MailSent   = "sent"   // the SMTP server took it
	MailFailed = "failed" // refused for good, or given up after the last retry
	MailKept   = "kept"   // no SMTP server configured: kept, readable in the outbox, never sent
)

// MailRetries is when a mail that could not be sent is tried again, counted
// from the attempt before (before jitter): about 16 hours in all.
var MailRetries = []time.Duration{30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

// MailTimeout bounds one attempt to send a mail.
const MailTimeout = 30 * time.Second

// MailBatch is how many due mails a node claims at a time; MailParallel of
// them are sent side by side.
const (
	MailBatch    = 10
	MailParallel = 4
)

// MailLease is how long a node holds the mail it claimed before another
// node may take it over: as long as a batch could take if every attempt
// timed out one after the other.
const MailLease = MailBatch * MailTimeout

// ErrMailRefused marks a sender's error that retrying cannot cure (the
// server refused the recipient or the message for good: an SMTP 5xx).
var ErrMailRefused = errors.New("mail refused")

// Mail is one e-mail about a payment, queued with the change it reports.
type Mail struct {
	ID         string // "mail_..."
	MerchantID string
	PaymentID  string
	RefundID   string // refund_notice: the refund
	Kind       string
	Recipient  string // MailToCustomer or MailToMerchant
	To         string
	// MerchantName is the name the customer knows the merchant by (its
	// display name, else its name), as it was when the mail was queued.
	MerchantName string
	Facts        MailFacts
	// Subject, Text and HTML are the message, composed from Facts
	// (Compose) when the worker first handles it.
	Subject   string
	Text      string
	HTML      string
	Status    string
	Attempts  int
	NextAt    time.Time // when it is due (while claimed, when the lease ends)
	LastError string
	SentAt    time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
}

// MailFacts are what a mail says about its payment, taken when it was
// queued. Nothing of the card beyond its brand and last four digits.
type MailFacts struct {
	Amount             int64     `json:"amount"`
	Currency           string    `json:"currency"`
	Captured           bool      `json:"captured,omitempty"` // a sale (false: an authorization only)
	RefundAmount       int64     `json:"refund_amount,omitempty"`
	ConfirmationNumber string    `json:"confirmation_number,omitempty"`
	AuthCode           string    `json:"auth_code,omitempty"`
	CardBrand          string    `json:"card_brand,omitempty"`
	CardLast4          string    `json:"card_last4,omitempty"`
	OrderID            string    `json:"order_id,omitempty"`
	At                 time.Time `json:"at"`
}

// MailFilter selects mail for listing, newest first.
type MailFilter struct {
	MerchantID    string
	PaymentID     string
	Status        string
	StartingAfter string // a mail id: return mail older than it
	Limit         int
}

// MailStore keeps mail. Mail about payments is written by the payment
// store, in the transactions of the changes it reports (PaymentMails):
// each customer mail as it is, each merchant mail only if the merchant has
// a NotifyEmail (its To), and both with the merchant's name as stored.
type MailStore interface {
	// ClaimMail leases up to limit queued mails due at now, by setting
	// their NextAt to now+lease. Of nodes claiming at once, each mail goes
	// to one.
	ClaimMail(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*Mail, error)
	// RecordMail saves m's subject, text, HTML, status, attempts, NextAt,
	// last error, SentAt and UpdatedAt if its NextAt is still prevNextAt
	// (the lease the claim set); else ErrVersionConflict and nothing is
	// saved.
	RecordMail(ctx context.Context, m *Mail, prevNextAt time.Time) error
	Mail(ctx context.Context, merchantID, id string) (*Mail, error)
	// Mails lists a merchant's mail, newest first, one page at a time.
	Mails(ctx context.Context, f MailFilter) (list []*Mail, hasMore bool, err error)
}

// MailSender sends a composed mail (package smtp implements it). An error
// that wraps ErrMailRefused is not tried again.
type MailSender interface {
	Send(ctx context.Context, m *Mail) error
}

// PaymentMails returns the mail that saving p (and r, if not nil) queues:
// on approval a receipt for the customer and a copy for the merchant; on a
// void of an approved payment and on a refund's success, a notice for each.
// Customer mail only goes to a payment with a ReceiptEmail; merchant mail
// has no To (the store takes the merchant's NotifyEmail, and writes none
// without one). Like PaymentEvents, it compares p's and r's status with
// what was last saved.
func PaymentMails(p *Payment, r *Refund, now time.Time) []*Mail {
	var kinds [][2]string // kind, recipient
	switch {
	case (p.Status == StatusAuthorized || p.Status == StatusCaptured) &&
		(p.SavedStatus == "" || p.SavedStatus == StatusPending) && p.Approved():
		kinds = append(kinds, [2]string{MailReceipt, MailToCustomer}, [2]string{MailMerchantCopy, MailToMerchant})
	case p.Status == StatusVoided && p.SavedStatus != StatusVoided && p.Approved():
		kinds = append(kinds, [2]string{MailVoidNotice, MailToCustomer}, [2]string{MailVoidNotice, MailToMerchant})
	}
	if r != nil && r.Status == RefundSucceeded && r.SavedStatus != RefundSucceeded {
		kinds = append(kinds, [2]string{MailRefundNotice, MailToCustomer}, [2]string{MailRefundNotice, MailToMerchant})
	}
	now = now.Truncate(TimePrecision)
	var list []*Mail
	for _, k := range kinds {
		to := ""
		if k[1] == MailToCustomer {
			if p.ReceiptEmail == "" {
				continue
			}
			to = p.ReceiptEmail
		}
		m := &Mail{ID: NewID("mail", now), MerchantID: p.MerchantID, PaymentID: p.ID, Kind: k[0], Recipient: k[1], To: to,
			Facts: MailFacts{Amount: p.Amount, Currency: p.Currency.Code, Captured: p.CaptureRequested,
				ConfirmationNumber: p.ConfirmationNumber, AuthCode: p.AuthCode, CardBrand: p.Card.Brand,
				CardLast4: p.Card.Last4, OrderID: p.OrderID, At: now},
			Status: MailQueued, NextAt: now, CreatedAt: now, UpdatedAt: now}
		if k[0] == MailRefundNotice {
			m.RefundID, m.Facts.RefundAmount = r.ID, r.Amount
		}
		list = append(list, m)
	}
	return list
}
