package paygate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// PaymentRequest is a merchant's request for a payment.
type PaymentRequest struct {
	Amount         int64
	Currency       string
	Card           *Card   // a card as typed, or
	CardID         string  // a stored card
	Capture        bool    // true: sale; false: authorization only
	Channel        Channel // "": ChannelEcommerce; ChannelMOTO for the Virtual Terminal
	Description    string
	OrderID        string
	Metadata       map[string]string
	ReceiptEmail   string
	RequireAck     *bool // nil: the merchant's setting
	IdempotencyKey string
	// RequestHash, with IdempotencyKey, makes the payment its key's
	// idempotency record (Payment.RequestHash).
	RequestHash string

	// beforeSend, if set, runs once the payment is recorded and before it
	// goes to the network; an error keeps it off the network (the payment
	// fails) and is returned with it. A hosted session binds the payment
	// to its claim here.
	beforeSend func(ctx context.Context, p *Payment) error
}

func (r *PaymentRequest) validate() error {
	if err := r.validateText(); err != nil {
		return err
	}
	if r.Card == nil && r.CardID == "" {
		return ParamErrorf(EMISSING, "card", "A card or a card_id is required.")
	}
	if r.Card != nil && r.CardID != "" {
		return ParamErrorf(EINVALID, "card_id", "Give either card or card_id, not both.")
	}
	if r.Channel != "" && !r.Channel.Valid() {
		return ParamErrorf(EINVALID, "channel", "Channel must be %q or %q.", ChannelEcommerce, ChannelMOTO)
	}
	return nil
}

// validateText checks the request's free text: description, order id,
// metadata and e-mail.
func (r *PaymentRequest) validateText() error {
	switch {
	case len(r.Description) > 1000:
		return ParamErrorf(EINVALID, "description", "Description must be at most 1000 characters.")
	case len(r.OrderID) > 100:
		return ParamErrorf(EINVALID, "order_id", "Order id must be at most 100 characters.")
	case len(r.Metadata) > 50:
		return ParamErrorf(EINVALID, "metadata", "Metadata may have at most 50 keys.")
	case len(r.ReceiptEmail) > 254 || (r.ReceiptEmail != "" && !validEmail(r.ReceiptEmail)):
		return ParamErrorf(EINVALID, "receipt_email", "Receipt e-mail must be an e-mail address such as name@example.com.")
	}
	for k, v := range r.Metadata {
		if k == "" || len(k) > 40 {
			return ParamErrorf(EINVALID, "metadata", "Metadata keys must be 1 to 40 characters.")
		}
		if len(v) > 500 {
			return ParamErrorf(EINVALID, "metadata["+sanitize(k, 40)+"]", "Metadata values must be at most 500 characters.")
		}
		if err := CheckFreeText("metadata", k+" "+v); err != nil {
			return err
		}
	}
	for _, f := range []struct{ param, value string }{
		{"description", r.Description}, {"order_id", r.OrderID}, {"receipt_email", r.ReceiptEmail},
	} {
		if err := CheckFreeText(f.param, f.value); err != nil {
			return err
		}
	}
	return nil
}

// validEmail accepts a bare address (no display name) with a dotted domain.
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

// paymentCard returns the card a payment request charges, with its number
// sealed and the summary to record: the card as typed, or a stored card.
func (g *Gateway) paymentCard(ctx context.Context, m *Merchant, req PaymentRequest, now time.Time) (Card, EncryptedPAN, CardSummary, error) {
	if req.Card == nil {
		card, sc, err := g.openStoredCard(ctx, m, req.CardID, now)
		if err != nil {
			return Card{}, EncryptedPAN{}, CardSummary{}, err
		}
		return card, sc.PAN, sc.Summary, nil
	}
	card := *req.Card
	if err := card.Validate(now, false); err != nil {
		return Card{}, EncryptedPAN{}, CardSummary{}, err
	}
	sealed, err := g.Vault.Seal(card.Number)
	if err != nil {
		return Card{}, EncryptedPAN{}, CardSummary{}, fmt.Errorf("seal card: %w", err)
	}
	summary := card.Summary()
	summary.Fingerprint = g.Vault.Fingerprint(card.Number)
	return card, sealed, summary, nil
}

// keyTaken reports whether a payment was made under key (not ""): a
// duplicate on inserting a payment with that key is then the key's, and
// a new confirmation number would not help.
func (g *Gateway) keyTaken(ctx context.Context, m *Merchant, key string) bool {
	if key == "" {
		return false
	}
	_, err := g.Payments.PaymentByIdempotencyKey(ctx, m.ID, key)
	return err == nil
}

// CreatePayment authorizes (and, for a sale, captures) a payment. A decline
// returns the recorded payment together with a *Error of code EDECLINED.
func (g *Gateway) CreatePayment(ctx context.Context, m *Merchant, req PaymentRequest) (*Payment, error) {
	now := g.now()
	money, err := ParseMoney(req.Amount, req.Currency)
	if err != nil {
		return nil, err
	}
	if err := req.validate(); err != nil {
		return nil, err
	}
	card, sealed, summary, err := g.paymentCard(ctx, m, req, now)
	if err != nil {
		return nil, err
	}

	requireAck := m.RequireAck
	if req.RequireAck != nil {
		requireAck = *req.RequireAck
	}
	stan, ref, err := g.nextSTANAndRRN(ctx)
	if err != nil {
		return nil, err
	}
	p := &Payment{
		ID:               NewID("pay", now),
		MerchantID:       m.ID,
		Status:           StatusPending,
		Amount:           money.Amount,
		Currency:         money.Currency,
		CaptureRequested: req.Capture,
		Channel:          cmp.Or(req.Channel, ChannelEcommerce),
		Card:             summary,
		PAN:              sealed,
		CardID:           req.CardID,
		STAN:             stan,
		RRN:              ref,
		TransmittedAt:    now,
		Description:      req.Description,
		OrderID:          req.OrderID,
		Metadata:         req.Metadata,
		ReceiptEmail:     req.ReceiptEmail,
		RequireAck:       requireAck,
		IdempotencyKey:   req.IdempotencyKey,
		RequestHash:      req.RequestHash,
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	// Record the payment before anything goes to the network.
	for try := 0; ; try++ {
		p.ConfirmationNumber = NewConfirmationNumber()
		err = g.Payments.CreatePayment(ctx, p)
		if !errors.Is(err, ErrDuplicate) || try == 3 || g.keyTaken(ctx, m, req.IdempotencyKey) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("record payment: %w", err)
	}
	if req.beforeSend != nil {
		if err := req.beforeSend(ctx, p); err != nil {
			p.Status, p.DeclineReason = StatusFailed, "Not sent: "+err.Error()+"."
			g.saveTrace(context.WithoutCancel(ctx), p)
			g.observer().Payment(requestKind(req), p.Status, "")
			return p, err
		}
	}

	kind := requestKind(req)
	nreq := g.networkRequest(m, p, kind)
	nreq.PAN, nreq.ExpMonth, nreq.ExpYear, nreq.CVC = card.Number, card.ExpMonth, card.ExpYear, card.CVC
	// The exchange must finish even if the merchant hangs up.
	nctx := context.WithoutCancel(ctx)
	resp, nerr := g.send(nctx, nreq, &p.Trace)
	card.CVC, nreq.CVC = "", "" // the CVC is not kept past the authorization (PCI DSS 3.3.1)

	log := g.Logger.With(LogPaymentID, p.ID, LogMerchantID, m.ID, LogSTAN, p.STAN, LogRRN, p.RRN)
	if errors.Is(nerr, ErrNotSent) {
		// Never left: nothing to reverse, the payment simply failed.
		log.WarnContext(ctx, "authorization not sent: acquirer unreachable", LogError, nerr)
		d := LookupDecline(ResponseIssuerUnavailable)
		p.Status, p.ResponseCode, p.DeclineCode, p.DeclineReason = StatusFailed, d.ResponseCode, d.Code, d.Reason
		g.saveTrace(nctx, p)
		g.observer().Payment(kind, p.Status, p.ResponseCode)
		return p, DeclineError(ResponseIssuerUnavailable)
	}
	if nerr != nil {
		// In doubt: the issuer may have approved. The merchant gets its
		// decline now, at the network timeout; the reversal goes on in the
		// background (and if that fails, the payment stays pending and
		// recovery reverses it).
		log.WarnContext(ctx, "authorization in doubt, reversing in the background", LogError, nerr)
		g.reverseInBackground(nctx, m, p, log)
		g.observer().Payment(kind, StatusPending, "")
		return p, DeclineError(ResponseIssuerUnavailable)
	}
	p.ResponseCode = resp.ResponseCode
	if !resp.Approved() {
		d := LookupDecline(resp.ResponseCode)
		p.Status, p.DeclineCode, p.DeclineReason = StatusDeclined, d.Code, d.Reason
		p.UpdatedAt = g.now()
		if err := g.Payments.UpdatePayment(nctx, p); err != nil {
			return nil, fmt.Errorf("record decline: %w", err)
		}
		log.InfoContext(ctx, "payment declined", LogCode, resp.ResponseCode)
		g.observer().Payment(kind, p.Status, p.ResponseCode)
		return p, DeclineError(resp.ResponseCode)
	}
	p.AuthCode = resp.AuthCode
	p.UpdatedAt = g.now()
	p.Status = StatusAuthorized
	if req.Capture {
		p.Status, p.AmountCaptured, p.CapturedAt = StatusCaptured, p.Amount, p.UpdatedAt
	}
	if p.RequireAck {
		p.AckDeadline = p.UpdatedAt.Add(m.EffectiveAckWindow())
	}
	if err := g.Payments.UpdatePayment(nctx, p); err != nil {
		// The payment stays pending in the store: recovery reverses it.
		return nil, fmt.Errorf("record approval: %w", err)
	}
	log.InfoContext(ctx, "payment approved", LogKind, kind.String())
	g.observer().Payment(kind, p.Status, p.ResponseCode)
	return p, nil
}

// requestKind is the network message a payment request sends.
func requestKind(req PaymentRequest) NetworkKind {
	if req.Capture {
		return NetworkSale
	}
	return NetworkAuthorize
}
