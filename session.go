package paygate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SessionStatus is where a hosted payment session stands. Wire names.
type SessionStatus string

const (
	SessionOpen     SessionStatus = "open"     // waiting for the customer to pay
	SessionComplete SessionStatus = "complete" // paid, or declined MaxSessionDeclines times
	SessionExpired  SessionStatus = "expired"  // not paid within its lifetime
	SessionCanceled SessionStatus = "canceled" // the customer went back to the merchant without paying
)

// DefaultSessionLifetime is how long a session waits to be paid.
const DefaultSessionLifetime = 30 * time.Minute

// MaxSessionDeclines is how many declines a session allows before it ends
// declined.
const MaxSessionDeclines = 3

// FormLifetime is how long a signed payment form (POST /pay) stays valid.
const FormLifetime = 30 * time.Minute

// Session outcomes, as a result carries them. Wire names.
const (
	OutcomeApproved = "approved"
	OutcomeDeclined = "declined"
	OutcomeCanceled = "canceled"
)

// Session is a hosted payment session (seed 002): the merchant starts it
// (StartSession), the customer pays on the gateway's page, the merchant
// reads the result (GetResult) and may acknowledge it (Ack).
type Session struct {
	// ID is the SecureID: "cs_" and 32 random base32 characters (160
	// bits), single use; it is all the payment page's URL carries.
	ID            string
	MerchantID    string
	Status        SessionStatus // as stored: StatusAt also tells an open session that expired
	Model         string        // ModelRedirect or ModelProxy
	Amount        int64
	Currency      Currency
	OrderID       string
	Description   string
	ReturnURL     string
	CancelURL     string // "" : the merchant's cancel URL, or ReturnURL
	Capture       bool
	CustomerEmail string
	Metadata      map[string]string
	// FormKey identifies the signed form that started the session ("" if
	// started by the API): posting the same form again finds it.
	FormKey string

	// Attempts counts the submits that claimed the session (it only ever
	// grows: attempt n's payment has the idempotency key ID/n); Declines
	// counts those that ended declined. Paying is set while attempt
	// Attempts is on its way (since PayingSince), so that a second submit
	// never makes a second payment.
	Attempts    int
	Declines    int
	Paying      bool
	PayingSince time.Time
	// PaymentID is the latest attempt's payment: while Paying, the one
	// bound to attempt Attempts before it went to the network ("" until
	// then). Sequence is the number of the attempt that ended the session
	// (0 while none has): the redirect, the proxy GET and GetResult carry
	// the same one.
	PaymentID string
	Sequence  int
	Outcome   string // OutcomeApproved, OutcomeDeclined, OutcomeCanceled; "" while open

	ExpiresAt   time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt time.Time
	AckedAt     time.Time
	Version     int
	// SavedOutcome is Outcome as last read from or written to the store:
	// saving a session reports the outcome it reached (SessionEvents).
	SavedOutcome string
}

// StatusAt is the session's status at now: an open session past its
// expiry (and not paying) is expired.
func (s *Session) StatusAt(now time.Time) SessionStatus {
	if s.Status == SessionOpen && !s.Paying && !now.Before(s.ExpiresAt) {
		return SessionExpired
	}
	return s.Status
}

// attemptKey is the idempotency key of the session's attempt n.
func (s *Session) attemptKey(n int) string { return s.ID + "/" + strconv.Itoa(n) }

// SessionStore keeps sessions.
type SessionStore interface {
	// CreateSession stores s. A session with the same merchant and a
	// non-empty FormKey already there is ErrDuplicate.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns a session by its id; merchantID "" matches any
	// merchant (the payment page knows only the id).
	Session(ctx context.Context, merchantID, id string) (*Session, error)
	// SessionByFormKey returns the merchant's session started by that form.
	SessionByFormKey(ctx context.Context, merchantID, formKey string) (*Session, error)
	// UpdateSession saves s if its Version is still the stored one, and
	// bumps it; else ErrVersionConflict.
	UpdateSession(ctx context.Context, s *Session) error
	// StalePaying returns sessions left paying since before the given
	// time, oldest first.
	StalePaying(ctx context.Context, before time.Time, limit int) ([]*Session, error)
}

// SessionRequest is StartSession's request.
type SessionRequest struct {
	Amount        int64
	Currency      string
	OrderID       string
	Description   string
	ReturnURL     string // "": the merchant's success URL
	CancelURL     string
	Model         string // "": the merchant's default model
	Capture       *bool  // nil: true (a sale)
	CustomerEmail string
	Metadata      map[string]string
	formKey       string
}

func (g *Gateway) sessionLifetime() time.Duration {
	if g.SessionLifetime > 0 {
		return g.SessionLifetime
	}
	return DefaultSessionLifetime
}

// StartSession opens a hosted payment session (seed 002 steps 2–3).
func (g *Gateway) StartSession(ctx context.Context, m *Merchant, req SessionRequest) (*Session, error) {
	now := g.now()
	money, err := ParseMoney(req.Amount, req.Currency)
	if err != nil {
		return nil, err
	}
	pr := PaymentRequest{Description: req.Description, OrderID: req.OrderID, Metadata: req.Metadata,
		ReceiptEmail: req.CustomerEmail}
	if err := pr.validateText(); err != nil {
		if e, ok := err.(*Error); ok && e.Param == "receipt_email" {
			e.Param, e.Message = "customer_email", "Customer e-mail must be an e-mail address such as name@example.com."
		}
		return nil, err
	}
	model := req.Model
	if model == "" {
		model = m.Model()
	}
	if model != ModelRedirect && model != ModelProxy {
		return nil, ParamErrorf(EINVALID, "model", "Model must be %q or %q.", ModelRedirect, ModelProxy)
	}
	ret := strings.TrimSpace(req.ReturnURL)
	if ret == "" {
		ret = m.SuccessURL
	}
	if ret == "" {
		return nil, ParamErrorf(EMISSING, "return_url", "A return_url is required (or set a success_url in the settings).")
	}
	if err := m.CheckURL("return_url", ret); err != nil {
		return nil, err
	}
	cancel := strings.TrimSpace(req.CancelURL)
	if cancel != "" {
		if err := m.CheckURL("cancel_url", cancel); err != nil {
			return nil, err
		}
	}
	if _, err := g.signingKeys(ctx, m.ID); err != nil {
		return nil, err
	}
	capture := true
	if req.Capture != nil {
		capture = *req.Capture
	}
	s := &Session{
		ID:            "cs_" + RandomToken(32),
		MerchantID:    m.ID,
		Status:        SessionOpen,
		Model:         model,
		Amount:        money.Amount,
		Currency:      money.Currency,
		OrderID:       req.OrderID,
		Description:   req.Description,
		ReturnURL:     ret,
		CancelURL:     cancel,
		Capture:       capture,
		CustomerEmail: req.CustomerEmail,
		Metadata:      req.Metadata,
		FormKey:       req.formKey,
		ExpiresAt:     now.Add(g.sessionLifetime()),
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	if err := g.Sessions.CreateSession(ctx, s); err != nil {
		if errors.Is(err, ErrDuplicate) && s.FormKey != "" {
			return g.Sessions.SessionByFormKey(ctx, m.ID, s.FormKey)
		}
		return nil, fmt.Errorf("record session: %w", err)
	}
	return s, nil
}

// FormFields lists the fields a signed payment form may carry (POST or GET
// /pay); merchant_id, amount, currency, return_url, timestamp and signature
// are required.
var FormFields = []string{"merchant_id", "amount", "currency", "order_id", "description", "return_url",
	"cancel_url", "model", "capture", "customer_email", "timestamp", "signature"}

// StartFormSession opens a session from the signed HTML form a merchant's
// page posts to /pay (seed 000's "some HTML code"). The signature covers
// every field but itself (CanonicalQuery) and is checked with the
// merchant's signing secrets; the form lives FormLifetime. The same form
// posted again finds the session it opened. No field may hold a line
// break: browsers post every one as CRLF, whatever the merchant signed, so
// the error says that rather than that the signature does not match.
func (g *Gateway) StartFormSession(ctx context.Context, form url.Values) (*Session, *Merchant, error) {
	for k, v := range form {
		if !containsString(FormFields, k) {
			return nil, nil, ParamErrorf(EINVALID, sanitize(k, 40), "The payment form has an unknown field %q.", sanitize(k, 40))
		}
		if len(v) != 1 {
			return nil, nil, ParamErrorf(EINVALID, k, "The payment form has the field %q more than once.", k)
		}
	}
	for _, k := range []string{"merchant_id", "amount", "currency", "return_url", "timestamp", "signature"} {
		if form.Get(k) == "" {
			return nil, nil, ParamErrorf(EMISSING, k, "The payment form has no %q field.", k)
		}
	}
	m, err := g.Merchants.Merchant(ctx, form.Get("merchant_id"))
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return nil, nil, ParamErrorf(EINVALID, "merchant_id", "The payment form names a merchant this gateway does not know.")
		}
		return nil, nil, err
	}
	for _, k := range FormFields {
		if strings.ContainsAny(form.Get(k), "\r\n") {
			return nil, m, ParamErrorf(EINVALID, k, "The payment form's field %q must be a single line: browsers rewrite line breaks, which would break the signature.", k)
		}
	}
	ts, err := CheckTimestamp("timestamp", form.Get("timestamp"), g.now(), FormLifetime)
	if err != nil {
		return nil, m, err
	}
	keys, err := g.signingKeys(ctx, m.ID)
	if err != nil {
		return nil, m, err
	}
	payload := CanonicalQuery(form)
	if !SignatureValid(keys, form.Get("signature"), ts, payload) {
		return nil, m, ParamErrorf(EINVALID, "signature",
			"The payment form's signature does not match its fields: it was changed after the merchant signed it, or signed with another secret.")
	}
	amount, err := strconv.ParseInt(form.Get("amount"), 10, 64)
	if err != nil {
		return nil, m, ParamErrorf(EINVALID, "amount", "Amount must be a whole number of minor units (cents).")
	}
	req := SessionRequest{
		Amount: amount, Currency: form.Get("currency"), OrderID: form.Get("order_id"),
		Description: form.Get("description"), ReturnURL: form.Get("return_url"), CancelURL: form.Get("cancel_url"),
		Model: form.Get("model"), CustomerEmail: form.Get("customer_email"),
	}
	if c := form.Get("capture"); c != "" {
		b, err := strconv.ParseBool(c)
		if err != nil {
			return nil, m, ParamErrorf(EINVALID, "capture", "Capture must be true or false.")
		}
		req.Capture = &b
	}
	// The form is identified by what it signs, not by its signature text
	// (which a browser could pad with more "v1," values).
	sum := sha256.Sum256([]byte(m.ID + "\x00" + payload))
	req.formKey = hex.EncodeToString(sum[:])
	s, err := g.StartSession(ctx, m, req)
	return s, m, err
}

// SessionResult returns a session and its latest payment, if any (GetResult,
// seed 002 steps 7–8).
func (g *Gateway) SessionResult(ctx context.Context, m *Merchant, id string) (*Session, *Payment, error) {
	s, err := g.Sessions.Session(ctx, m.ID, id)
	if err != nil {
		return nil, nil, err
	}
	s, err = g.recoverAttempt(ctx, m, s)
	if err != nil {
		return nil, nil, err
	}
	p, err := g.sessionPayment(ctx, s)
	return s, p, err
}

// sessionPayment loads the session's latest payment (nil if none).
func (g *Gateway) sessionPayment(ctx context.Context, s *Session) (*Payment, error) {
	if s.PaymentID == "" {
		return nil, nil
	}
	return g.Payments.Payment(ctx, s.MerchantID, s.PaymentID)
}

// AckSession acknowledges the session's approval (seed 002 steps 9–10): the
// payment is acknowledged (so an Ack-required approval is not voided) and
// the session is closed for good. Acknowledging twice is harmless.
func (g *Gateway) AckSession(ctx context.Context, m *Merchant, id string) (*Session, *Payment, error) {
	s, p, err := g.SessionResult(ctx, m, id)
	if err != nil {
		return nil, nil, err
	}
	if s.Outcome != OutcomeApproved || p == nil {
		switch s.StatusAt(g.now()) {
		case SessionOpen:
			return s, p, Errorf(ECONFLICT, "Session %s has not been paid yet: there is nothing to acknowledge.", s.ID)
		}
		return s, p, Errorf(ECONFLICT, "Session %s ended without an approved payment: there is nothing to acknowledge.", s.ID)
	}
	if p, err = g.Ack(ctx, m, p.ID); err != nil {
		return s, p, err
	}
	for s.AckedAt.IsZero() {
		s.AckedAt = g.now()
		s.UpdatedAt = s.AckedAt
		err := g.Sessions.UpdateSession(ctx, s)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, nil, fmt.Errorf("record session ack: %w", err)
		}
		if s, err = g.Sessions.Session(ctx, m.ID, id); err != nil {
			return nil, nil, err
		}
	}
	return s, p, nil
}
