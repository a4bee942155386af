package paygate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TRResult is what became of a transparent redirect form that verified.
type TRResult struct {
	Merchant *Merchant
	// Payment is the form's payment (nil if none was made: the form was
	// invalid or expired).
	Payment *Payment
	// Err says why the payment was not made, or not approved: a *Error
	// (a decline, an invalid field, an expired form); nil on approval.
	Err error
	// URL is where the browser goes: the success or decline URL with the
	// signed result (TRResultValues) in its query; "" when the merchant
	// has no such URL (the gateway shows its own page).
	URL string
	// Replay: the form was sent before; this is its first result, and
	// nothing was charged now. Pending: the first payment has no answer
	// yet (the gateway's own page says so).
	Replay  bool
	Pending bool

	success, decline string
}

// TRResultFields names every parameter a transparent redirect's result
// may carry (with timestamp and signature: SignQuery). Wire names: seed
// 003's vendor's where it has them.
var TRResultFields = []string{"transaction_id", "transaction_approved", "transaction_type", "transaction_amount",
	"order_id", "authorization_code", "confirmation_number", "card_brand", "card_last4",
	"error_code", "error_message", "error_param", "decline_code", "timestamp", "signature"}

// TransparentRedirect pays with a transparent redirect form (seed 003,
// POST /tr), and returns where the browser goes.
//
// A form that cannot be trusted is refused with a *Error and nothing
// charged: ErrTRSecurityViolation if it sent the access key as a field (the
// attempt is recorded: SecurityViolation); EFORBIDDEN for an unknown
// account or a missing or wrong hash; EINVALID for a field sent twice, a
// field that is not UTF-8 text, or a URL off the merchant's allowed
// origins; ECONFLICT if the merchant has no
// signing secret to sign the result with. The result then holds the
// merchant if it is known. From a form that verified, everything else (an
// expired timestamp, a bad card, a decline) is a TRResult with its Err, to
// send to the decline URL.
func (g *Gateway) TransparentRedirect(ctx context.Context, form url.Values) (*TRResult, error) {
	if _, sent := form["api_accesskey"]; sent {
		m, err := g.trViolation(ctx, form)
		if m == nil {
			return nil, err
		}
		return &TRResult{Merchant: m}, err
	}
	for k, v := range form {
		if len(v) > 1 {
			return nil, ParamErrorf(EINVALID, sanitize(k, 40), "The form has the field %q more than once.", sanitize(k, 40))
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v[0]) || strings.ContainsRune(k+v[0], 0) {
			return nil, ParamErrorf(EINVALID, sanitize(strings.ToValidUTF8(k, "?"), 40), "The form's field %q is not valid UTF-8 text.",
				sanitize(strings.ToValidUTF8(k, "?"), 40))
		}
	}
	id := form.Get("account_id")
	if id == "" {
		return nil, ParamErrorf(EFORBIDDEN, "account_id", "The form has no account_id.")
	}
	m, err := g.Merchants.Merchant(ctx, id)
	if ErrorCode(err) == ENOTFOUND {
		return nil, ParamErrorf(EFORBIDDEN, "account_id", "The form's account_id names an account this gateway does not know.")
	} else if err != nil {
		return nil, err
	}
	res := &TRResult{Merchant: m}
	canonical, err := g.checkTRHash(ctx, m, form)
	if err != nil {
		return res, err
	}
	keys, err := g.signingKeys(ctx, m.ID)
	if err != nil {
		return res, err
	}
	if res.success, res.decline, err = trURLs(m, form); err != nil {
		return res, err
	}

	// The form is the merchant's: what goes wrong from here is reported
	// to its decline URL. A form that paid already gets its result again,
	// however old it is now.
	key := "tr_" + canonical
	if p, err := g.Payments.PaymentByIdempotencyKey(ctx, m.ID, key); err == nil {
		return g.trReplay(ctx, res, keys, p)
	} else if ErrorCode(err) != ENOTFOUND {
		return res, err
	}
	if err := g.checkTRTimestamp(form.Get("timestamp")); err != nil {
		return g.trFinish(res, keys, nil, err)
	}
	req, err := trPaymentRequest(form, key, g.now())
	if err != nil {
		return g.trFinish(res, keys, nil, err)
	}
	p, perr := g.CreatePayment(ctx, m, req)
	req.Card.Number, req.Card.CVC = "", ""
	switch {
	case errors.Is(perr, ErrDuplicate):
		// A submit of the same form at once recorded its payment first.
		p, err := g.Payments.PaymentByIdempotencyKey(ctx, m.ID, key)
		if err != nil {
			return res, fmt.Errorf("find the payment of a form sent twice: %w", err)
		}
		return g.trReplay(ctx, res, keys, p)
	case p == nil && ErrorCode(perr) != EINTERNAL:
		return g.trFinish(res, keys, nil, trParam(perr))
	case p == nil:
		return res, perr
	}
	return g.trFinish(res, keys, p, perr)
}

// trURLs returns where a form's outcome goes: its own success URL, else
// the merchant's; its own decline URL, else the merchant's, else the
// success URL. Each must be on one of the merchant's allowed origins.
func trURLs(m *Merchant, form url.Values) (success, decline string, err error) {
	success = firstNonEmpty(form.Get("success_url"), m.SuccessURL)
	decline = firstNonEmpty(form.Get("decline_url"), m.DeclineURL, success)
	for _, u := range []struct{ param, value string }{{"success_url", success}, {"decline_url", decline}} {
		if u.value == "" {
			continue
		}
		if err := m.CheckURL(u.param, u.value); err != nil {
			return "", "", err
		}
	}
	return success, decline, nil
}

// trPaymentRequest reads the transaction and the card from a form.
func trPaymentRequest(form url.Values, key string, now time.Time) (PaymentRequest, error) {
	for k := range form {
		if !containsString(TRFields, k) {
			return PaymentRequest{}, ParamErrorf(EINVALID, sanitize(k, 40), "The form has a field this gateway does not take: %q.", sanitize(k, 40))
		}
	}
	if t := form.Get("tender_type"); t != "" && !strings.EqualFold(t, TRTenderCard) {
		return PaymentRequest{}, ParamErrorf(EINVALID, "tender_type", "Tender type must be %s.", TRTenderCard)
	}
	var capture bool
	switch t := form.Get("transaction_type"); {
	case t == "":
		return PaymentRequest{}, ParamErrorf(EMISSING, "transaction_type", "The transaction type is required: %s or %s.", TRSale, TRAuthorization)
	case strings.EqualFold(t, TRSale):
		capture = true
	case strings.EqualFold(t, TRAuthorization):
	default:
		return PaymentRequest{}, ParamErrorf(EINVALID, "transaction_type", "The transaction type must be %s or %s.", TRSale, TRAuthorization)
	}
	cur, _ := LookupCurrency(TRCurrency)
	amount, err := parseMajorUnits(form.Get("transaction_amount"), cur, "transaction_amount")
	if err != nil {
		return PaymentRequest{}, err
	}
	card := Card{Number: form.Get("card_number"), CVC: strings.TrimSpace(form.Get("card_verification")),
		Name: strings.TrimSpace(strings.TrimSpace(form.Get("first_name")) + " " + strings.TrimSpace(form.Get("last_name")))}
	exp := strings.TrimSpace(form.Get("card_expiration"))
	if len(exp) != 4 || strings.Trim(exp, "0123456789") != "" {
		return PaymentRequest{}, ParamErrorf(EEXPIRY, "card_expiration", "The card's expiration must be 4 digits, MMYY, such as 1230.")
	}
	card.ExpMonth, _ = strconv.Atoi(exp[:2])
	card.ExpYear, _ = strconv.Atoi(exp[2:])
	// The customer types the card: the CVC is required.
	if err := card.Validate(now, true); err != nil {
		return PaymentRequest{}, trParam(err)
	}
	req := PaymentRequest{Amount: amount, Currency: cur.Code, Card: &card, Capture: capture,
		Description: form.Get("transaction_description"), OrderID: form.Get("order_id"), IdempotencyKey: key}
	if err := req.validate(); err != nil {
		return PaymentRequest{}, trParam(err)
	}
	return req, nil
}

// parseMajorUnits reads an amount in major units ("123.00", "5", "0.5")
// into minor units of c: digits, at most c.Exponent of them after a dot.
func parseMajorUnits(s string, c Currency, param string) (int64, error) {
	bad := ParamErrorf(EAMOUNT, param, "The transaction amount must be a number of %s such as \"123.00\", with at most %d decimals.", c.Code, c.Exponent)
	if s == "" {
		return 0, ParamErrorf(EMISSING, param, "The transaction amount is required, such as \"123.00\".")
	}
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case whole == "" || strings.Trim(whole, "0123456789") != "" || len(whole) > 12,
		dot && (frac == "" || strings.Trim(frac, "0123456789") != "" || len(frac) > c.Exponent):
		return 0, bad
	}
	n, err := strconv.ParseInt(whole+frac+strings.Repeat("0", c.Exponent-len(frac)), 10, 64)
	if err != nil {
		return 0, bad
	}
	if err := ValidateAmount(n, param); err != nil {
		return 0, ParamErrorf(EAMOUNT, param, "The transaction amount must be more than 0 and at most %s.", FormatAmount(MaxAmount, c))
	}
	return n, nil
}

// trParams maps the parameters of the gateway's errors to the form's
// fields.
var trParams = map[string]string{
	"card[number]": "card_number", "card[exp_month]": "card_expiration", "card[exp_year]": "card_expiration",
	"card[cvc]": "card_verification", "card[name]": "first_name", "amount": "transaction_amount",
	"description": "transaction_description", "order_id": "order_id",
}

// trParam renames err's parameter to the form's field.
func trParam(err error) error {
	var e *Error
	if errors.As(err, &e) {
		if p, ok := trParams[e.Param]; ok {
			cp := *e
			cp.Param = p
			return &cp
		}
	}
	return err
}

// trReplay answers a form sent again with its payment's result. A payment
// still on its way (a double submit at once) is waited for a little.
func (g *Gateway) trReplay(ctx context.Context, res *TRResult, keys [][]byte, p *Payment) (*TRResult, error) {
	res.Replay = true
	p, err := g.awaitPayment(ctx, p)
	if err != nil {
		return res, err
	}
	if p.Status == StatusPending {
		res.Payment, res.Pending = p, true
		return res, nil
	}
	var perr error
	if !p.Approved() {
		perr = &Error{Code: EDECLINED, Message: firstNonEmpty(p.DeclineReason, "The payment was not approved."), DeclineCode: p.DeclineCode,
			ResponseCode: p.ResponseCode}
	}
	return g.trFinish(res, keys, p, perr)
}

// awaitPayment reads p again until it has an answer (or for about the
// network timeout): the request that made it is waiting for it.
func (g *Gateway) awaitPayment(ctx context.Context, p *Payment) (*Payment, error) {
	deadline := time.Now().Add(g.NetworkTimeout + 2*time.Second)
	for wait := 10 * time.Millisecond; p.Status == StatusPending && time.Now().Before(deadline); wait = min(2*wait, 250*time.Millisecond) {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		var err error
		if p, err = g.Payments.Payment(ctx, p.MerchantID, p.ID); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// trFinish completes res with the payment p (nil if none was made) and
// err, the *Error that says why it was not made or approved (nil on
// approval): the URL with the signed result.
func (g *Gateway) trFinish(res *TRResult, keys [][]byte, p *Payment, err error) (*TRResult, error) {
	res.Payment, res.Err = p, err
	target := res.decline
	if err == nil && p != nil && p.Approved() {
		target = res.success
	}
	if target == "" {
		return res, nil
	}
	u, perr := url.Parse(target)
	if perr != nil {
		return res, fmt.Errorf("parse result URL: %w", perr)
	}
	q := u.Query()
	// The merchant's own parameters stay; none may pass for part of the
	// result.
	for _, k := range TRResultFields {
		q.Del(k)
	}
	for k, v := range TRResultValues(p, err) {
		q[k] = v
	}
	SignQuery(keys, q, g.now())
	u.RawQuery = q.Encode()
	u.Fragment = ""
	res.URL = u.String()
	return res, nil
}

// TRResultValues is a transparent redirect's result as its URL carries it
// (before the timestamp and signature): the payment (nil if none was
// made) and the *Error that says why it was not made or approved. Nothing
// of the card but its brand and last four digits.
func TRResultValues(p *Payment, err error) url.Values {
	q := url.Values{}
	add := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	approved := err == nil && p != nil && p.Approved()
	q.Set("transaction_approved", map[bool]string{true: "1", false: "0"}[approved])
	if p != nil {
		add("transaction_id", p.ID)
		add("transaction_type", map[bool]string{true: TRSale, false: TRAuthorization}[p.CaptureRequested])
		add("transaction_amount", FormatAmount(p.Amount, p.Currency))
		add("order_id", p.OrderID)
		add("card_brand", p.Card.Brand)
		add("card_last4", p.Card.Last4)
		if approved {
			add("authorization_code", p.AuthCode)
			add("confirmation_number", p.ConfirmationNumber)
		}
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: EINTERNAL, Message: "The payment could not be made."}
		}
		add("error_code", e.Code)
		add("error_message", e.Message)
		add("error_param", e.Param)
		add("decline_code", e.DeclineCode)
	}
	return q
}
