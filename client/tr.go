package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// A transparent redirect takes the card on your own page without the card
// touching your server: your page's form posts it from the customer's
// browser straight to <gateway>/tr, with hidden fields your server made
// (TransparentRedirectFields), and the gateway sends the browser on to
// your success or decline URL with the signed result
// (VerifyTransparentRedirect). The fields are named as seed 003's vendor
// names them, so a form made for it works with a new action URL.
//
// The hidden fields are authenticated by a hash made with your access
// key ("api_accesskey", from RotateAccessKey), which never leaves your
// server:
//
//	hash = lowercase hex SHA-256 of
//	       account_id "," api_accesskey "," timestamp ["," success_url] ["," decline_url]
//	       ["," value of each field hash_key names, in hash_key's order]
//
// The form must never carry api_accesskey as a field of its own: the
// gateway refuses it ("Security Violation") and tells you (an event
// security.violation); rotate the key then.

// Transaction types.
const (
	TRSale          = "SALE"          // authorize and capture
	TRAuthorization = "AUTHORIZATION" // authorize only; capture later (Capture)
)

// TRLifetime is how long the gateway accepts the fields after they were
// made (its default).
const TRLifetime = 30 * time.Minute

// TRParams describe a payment taken with a transparent redirect form.
type TRParams struct {
	AccountID   string // required: your merchant id ("acct_...")
	Amount      int64  // required: minor units of USD (1999 is $19.99)
	Type        string // TRSale (""), or TRAuthorization
	Description string
	OrderID     string // your order reference: the result carries it
	SuccessURL  string // "": your settings' SuccessURL
	DeclineURL  string // "": your settings' DeclineURL, or SuccessURL
}

// TransparentRedirectFields returns the hidden fields of a transparent
// redirect form, hashed with your access key at now: render each as a
// hidden input of a form posting to <gateway>/tr, next to the inputs the
// customer types the card in (card_number, card_expiration as MMYY,
// card_verification, and optionally first_name and last_name). The
// amount, type, description and order id are under the hash (hash_key),
// so the customer cannot change them. The fields are accepted for
// TRLifetime, and pay once: the same form posted again shows the first
// result. A hashed value may not hold a comma or a line break.
func TransparentRedirectFields(p TRParams, accessKey string, now time.Time) (url.Values, error) {
	typ := p.Type
	if typ == "" {
		typ = TRSale
	}
	switch {
	case p.AccountID == "":
		return nil, errors.New("paygate: the transparent redirect needs an AccountID")
	case p.Amount <= 0:
		return nil, errors.New("paygate: the transparent redirect needs a positive Amount (minor units)")
	case typ != TRSale && typ != TRAuthorization:
		return nil, fmt.Errorf("paygate: the transparent redirect's Type must be %s or %s", TRSale, TRAuthorization)
	case strings.TrimSpace(accessKey) == "":
		return nil, errors.New("paygate: no access key given")
	}
	v := url.Values{}
	var hashed []string // the hash_key names, in order
	var bad error
	add := func(k, s string, inHash bool) {
		if s == "" {
			return
		}
		if bad == nil && (strings.Contains(s, ",") || !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0) {
			bad = fmt.Errorf("paygate: %s must not hold a comma or a line break: the hash joins the values with commas", k)
		}
		v.Set(k, s)
		if inHash {
			hashed = append(hashed, k)
		}
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	v.Set("account_id", p.AccountID)
	v.Set("timestamp", ts)
	add("success_url", p.SuccessURL, false)
	add("decline_url", p.DeclineURL, false)
	v.Set("tender_type", "CARD")
	add("transaction_type", typ, true)
	add("transaction_amount", fmt.Sprintf("%d.%02d", p.Amount/100, p.Amount%100), true)
	add("transaction_description", p.Description, true)
	add("order_id", p.OrderID, true)
	if bad != nil {
		return nil, bad
	}
	parts := []string{p.AccountID, strings.TrimSpace(accessKey), ts}
	for _, k := range []string{"success_url", "decline_url"} {
		if s := v.Get(k); s != "" {
			parts = append(parts, s)
		}
	}
	for _, k := range hashed {
		parts = append(parts, v.Get(k))
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	v.Set("hash_key", strings.Join(hashed, ","))
	v.Set("hash", hex.EncodeToString(sum[:]))
	return v, nil
}

// TRResult is a transparent redirect's outcome, as the gateway's signed
// redirect to your success or decline URL carries it.
type TRResult struct {
	TransactionID      string // the payment's id ("pay_..."); "" if none was made
	Approved           bool   // transaction_approved: 1
	Type               string // TRSale or TRAuthorization
	Amount             int64  // minor units of USD
	OrderID            string
	AuthorizationCode  string // after an approval
	ConfirmationNumber string // after an approval: show it to the customer
	CardBrand          string
	CardLast4          string
	// On a decline or an invalid form: ErrorCode is the gateway's error
	// code (CodeCardDeclined for the issuer's decline, with DeclineCode
	// such as "insufficient_funds"), ErrorMessage a sentence the customer
	// may read, ErrorParam the form field at fault, if one.
	ErrorCode    string
	ErrorMessage string
	ErrorParam   string
	DeclineCode  string
	Timestamp    time.Time

	// Params holds every signed parameter (all but "signature"), your own
	// ones from the success or decline URL among them.
	Params url.Values
}

// VerifyTransparentRedirect checks the signed query the gateway sent the
// customer's browser to your success or decline URL with (the same
// signature as VerifyQuery's, with your signing secrets) and returns the
// result it carries. It fails with ErrBadSignature or ErrExpired as
// VerifyQuery does. A genuine result is still only as good as its
// transaction: confirm an approval with GetPayment before you ship, and
// fulfil each TransactionID once (a form posted twice comes back twice).
func VerifyTransparentRedirect(q url.Values, now time.Time, secrets ...string) (*TRResult, error) {
	t, err := verifySigned(q, now, secrets)
	if err != nil {
		return nil, err
	}
	r := &TRResult{
		TransactionID:      q.Get("transaction_id"),
		Type:               q.Get("transaction_type"),
		OrderID:            q.Get("order_id"),
		AuthorizationCode:  q.Get("authorization_code"),
		ConfirmationNumber: q.Get("confirmation_number"),
		CardBrand:          q.Get("card_brand"),
		CardLast4:          q.Get("card_last4"),
		ErrorCode:          q.Get("error_code"),
		ErrorMessage:       q.Get("error_message"),
		ErrorParam:         q.Get("error_param"),
		DeclineCode:        q.Get("decline_code"),
		Timestamp:          t,
		Params:             url.Values{},
	}
	for k, v := range q {
		if k != "signature" {
			r.Params[k] = append([]string(nil), v...)
		}
	}
	switch q.Get("transaction_approved") {
	case "1":
		r.Approved = true
	case "0":
	default:
		return nil, fmt.Errorf("paygate: the signed transaction_approved %q is not 1 or 0", q.Get("transaction_approved"))
	}
	if s := q.Get("transaction_amount"); s != "" {
		whole, frac, _ := strings.Cut(s, ".")
		n, err1 := strconv.ParseInt(whole, 10, 64)
		c, err2 := strconv.ParseInt(frac, 10, 64)
		if err1 != nil || err2 != nil || len(frac) != 2 || n < 0 || c < 0 {
			return nil, fmt.Errorf("paygate: the signed transaction_amount %q is not an amount such as 19.99", s)
		}
		r.Amount = n*100 + c
	}
	return r, nil
}
