package client

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SessionStatus is where a hosted payment session stands.
type SessionStatus string

// Session statuses.
const (
	SessionOpen     SessionStatus = "open"     // waiting for the customer to pay
	SessionComplete SessionStatus = "complete" // paid, or declined as many times as allowed: see Outcome
	SessionExpired  SessionStatus = "expired"  // not paid in time
	SessionCanceled SessionStatus = "canceled" // the customer went back without paying
)

// Browser integration models: where the customer's browser goes after
// paying on the gateway's page.
const (
	ModelRedirect = "redirect" // the gateway redirects the browser to your return URL with the signed result
	ModelProxy    = "proxy"    // the gateway GETs your return URL with the signed result and shows the customer your page
)

// Session is a hosted payment session: the customer pays on the gateway's
// page at URL, and never gives you the card number.
type Session struct {
	ID       string        `json:"id"` // "cs_..."
	Object   string        `json:"object"`
	URL      string        `json:"url"` // send the customer's browser here
	Status   SessionStatus `json:"status"`
	Outcome  Outcome       `json:"outcome,omitempty"` // "" while the session is open
	Sequence int           `json:"sequence"`          // the attempt that ended the session, as the signed result carries it
	Model    string        `json:"model"`             // ModelRedirect or ModelProxy

	Amount        int64             `json:"amount"`
	Currency      string            `json:"currency"`
	OrderID       string            `json:"order_id"`
	Description   string            `json:"description"`
	ReturnURL     string            `json:"return_url"`
	CancelURL     string            `json:"cancel_url"`
	Capture       bool              `json:"capture"`
	CustomerEmail string            `json:"customer_email"`
	Metadata      map[string]string `json:"metadata,omitempty"`

	Attempts int      `json:"attempts"`          // payments tried, declined ones included
	Payment  *Payment `json:"payment,omitempty"` // the latest attempt's payment; nil if none

	ExpiresAt   time.Time  `json:"expires_at"`
	CreatedAt   time.Time  `json:"created_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	AckedAt     *time.Time `json:"acked_at,omitempty"`
}

// SessionParams describe a session to start.
type SessionParams struct {
	Amount         int64             `json:"amount"`   // minor units
	Currency       string            `json:"currency"` // ISO 4217, such as "USD"
	OrderID        string            `json:"order_id,omitempty"`
	Description    string            `json:"description,omitempty"` // shown to the customer
	ReturnURL      string            `json:"return_url,omitempty"`  // "": your settings' SuccessURL
	CancelURL      string            `json:"cancel_url,omitempty"`  // "": your settings' CancelURL, or ReturnURL
	Model          string            `json:"model,omitempty"`       // "": your settings' DefaultModel
	Capture        *bool             `json:"capture,omitempty"`     // nil: true, a sale; false: authorize only
	CustomerEmail  string            `json:"customer_email,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	IdempotencyKey string            `json:"-"` // see PaymentParams
}

// StartSession opens a hosted payment session. Send the customer's browser
// to its URL; the result comes back signed to your return URL (verify it
// with VerifyRequest) and from Session.
func (c *Client) StartSession(ctx context.Context, p SessionParams) (*Session, error) {
	s := new(Session)
	if err := c.post(ctx, "/v1/sessions", p, p.IdempotencyKey, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Session returns the session with the given ID and its latest payment:
// the result as the gateway knows it, whether or not the customer's
// browser came back.
func (c *Client) Session(ctx context.Context, id string) (*Session, error) {
	path, err := sessionPath(id, "")
	if err != nil {
		return nil, err
	}
	s := new(Session)
	if err := c.get(ctx, path, nil, s); err != nil {
		return nil, err
	}
	return s, nil
}

// AckSession acknowledges a session's approved payment: you have its
// result. If your settings require acknowledgments, an approval not
// acknowledged within the window is voided.
// Acknowledging twice is harmless; a session without an approval is an
// *Error (status 409).
func (c *Client) AckSession(ctx context.Context, id string) (*Session, error) {
	path, err := sessionPath(id, "/ack")
	if err != nil {
		return nil, err
	}
	s := new(Session)
	if err := c.post(ctx, path, nil, "", s); err != nil {
		return nil, err
	}
	return s, nil
}

func sessionPath(id, action string) (string, error) {
	if id == "" {
		return "", errors.New("paygate: empty session id")
	}
	return "/v1/sessions/" + url.PathEscape(id) + action, nil
}

// FormLifetime is how long the gateway accepts a signed payment form.
const FormLifetime = 30 * time.Minute

// FormParams describe a payment a page of yours starts with a form posted
// to the gateway's /pay (see SignForm).
type FormParams struct {
	MerchantID    string // required: your merchant id ("acct_...")
	Amount        int64  // minor units
	Currency      string // required
	OrderID       string
	Description   string
	ReturnURL     string // required
	CancelURL     string
	Model         string
	Capture       *bool // nil: a sale
	CustomerEmail string
}

// SignForm returns the fields of an HTML form that starts a payment on
// the gateway without an API call: render each as a hidden input of a
// form posting to <gateway>/pay (or link to <gateway>/pay?<fields
// encoded>). They are signed with your signing secret at now and accepted
// for FormLifetime; the customer cannot change them. Posting the same form
// twice opens one session. No field may hold a line break: a browser
// submits every one as CRLF, whatever the page held, and the signature
// would no longer match.
func SignForm(f FormParams, now time.Time, secret string) (url.Values, error) {
	switch {
	case f.MerchantID == "":
		return nil, errors.New("paygate: the payment form needs a MerchantID")
	case f.Currency == "":
		return nil, errors.New("paygate: the payment form needs a Currency")
	case f.ReturnURL == "":
		return nil, errors.New("paygate: the payment form needs a ReturnURL")
	}
	keys, err := signingKeys([]string{secret})
	if err != nil {
		return nil, err
	}
	v := url.Values{}
	var lineBreak error
	add := func(k, s string) {
		if s == "" {
			return
		}
		if strings.ContainsAny(s, "\r\n") && lineBreak == nil {
			lineBreak = fmt.Errorf("paygate: %s must be a single line: browsers rewrite line breaks, which would break the signature", k)
		}
		v.Set(k, s)
	}
	add("merchant_id", f.MerchantID)
	add("amount", strconv.FormatInt(f.Amount, 10))
	add("currency", f.Currency)
	add("order_id", f.OrderID)
	add("description", f.Description)
	add("return_url", f.ReturnURL)
	add("cancel_url", f.CancelURL)
	add("model", f.Model)
	if f.Capture != nil {
		add("capture", strconv.FormatBool(*f.Capture))
	}
	add("customer_email", f.CustomerEmail)
	if lineBreak != nil {
		return nil, lineBreak
	}
	ts := now.Unix()
	v.Set("timestamp", strconv.FormatInt(ts, 10))
	v.Set("signature", sign(keys[0], ts, canonicalQuery(v)))
	return v, nil
}
