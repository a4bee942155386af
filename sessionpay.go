package paygate

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
)

// ErrSessionPaying answers a submit while another submit of the same
// session is still on its way: the page waits for the first one's result.
var ErrSessionPaying = Errorf(EBUSY, "Your payment is being processed. This page will show its result in a moment.")

// PageSession loads a session for its payment page (which knows only the
// SecureID), with its merchant and latest payment.
func (g *Gateway) PageSession(ctx context.Context, id string) (*Session, *Merchant, *Payment, error) {
	s, err := g.Sessions.Session(ctx, "", id)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := g.Merchants.Merchant(ctx, s.MerchantID)
	if err != nil {
		return nil, nil, nil, err
	}
	if s, err = g.recoverAttempt(ctx, m, s); err != nil {
		return nil, nil, nil, err
	}
	p, err := g.sessionPayment(ctx, s)
	if err != nil {
		return nil, nil, nil, err
	}
	return s, m, p, nil
}

// AnyAttempt, as PaySession's attempt, pays whatever attempt the session
// is at.
const AnyAttempt = -1

// errClaimLost: the submit's claim on the session was taken over (by
// recovery, after InDoubtAfter) before its payment went to the network.
var errClaimLost = errors.New("the session's attempt was taken over before the payment was sent")

// PaySession pays a session with the card the customer typed on the
// payment page (seed 002 step 5). attempt is the session's Attempts when
// the form was shown (AnyAttempt: any): a form shown before another submit
// pays nothing. Each submit claims the session first, so a double click, a
// refresh or a second tab never makes a second payment: the later submit
// gets ErrSessionPaying, or the session as it ended. The claim is fenced:
// the payment is bound to the claim before it goes to the network, and is
// not sent if the claim was lost meanwhile.
//
// It returns the session and the attempt's payment with, on a decline, the
// decline *Error (the session stays open for another try until
// MaxSessionDeclines); a card that fails validation (a parameter *Error)
// uses no attempt. A session that is not open is returned with an ECONFLICT
// *Error.
func (g *Gateway) PaySession(ctx context.Context, id string, attempt int, card Card) (*Session, *Payment, error) {
	var s *Session
	var m *Merchant
	for {
		var p *Payment
		var err error
		if s, m, p, err = g.PageSession(ctx, id); err != nil {
			return nil, nil, err
		}
		now := g.now()
		switch st := s.StatusAt(now); {
		case s.Paying:
			return s, p, ErrSessionPaying
		case st != SessionOpen:
			return s, p, sessionClosedError(s, st)
		case attempt != AnyAttempt && attempt != s.Attempts:
			return s, p, ErrStaleForm
		}
		// The customer types the card on our page: the CVC is required.
		if err := card.Validate(now, true); err != nil {
			return s, nil, err
		}
		s.Paying, s.PayingSince, s.Attempts, s.PaymentID = true, now, s.Attempts+1, ""
		s.UpdatedAt = now
		err = g.Sessions.UpdateSession(ctx, s)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, nil, fmt.Errorf("claim session: %w", err)
		}
	}
	n, bound := s.Attempts, false
	// The payment must finish, and be recorded on the session, even if
	// the customer closes the tab.
	nctx := context.WithoutCancel(ctx)
	p, perr := g.CreatePayment(nctx, m, PaymentRequest{
		Amount: s.Amount, Currency: s.Currency.Code, Card: &card, Capture: s.Capture,
		Description: s.Description, OrderID: s.OrderID, Metadata: s.Metadata, ReceiptEmail: s.CustomerEmail,
		IdempotencyKey: s.attemptKey(n),
		beforeSend: func(ctx context.Context, p *Payment) error {
			err := g.bindAttempt(ctx, s, n, p.ID)
			bound = err == nil
			return err
		},
	})
	card.Number, card.CVC = "", ""
	if p == nil || !bound {
		// Nothing went to the network. Unless a payment is bound to the
		// claim (recorded, its answer not: recovery settles it), give the
		// claim back; the attempt's number is not used again.
		s, err := g.updateSession(nctx, s, func(s *Session) bool {
			if !s.Paying || s.Attempts != n || s.PaymentID != "" {
				return false
			}
			s.Paying = false
			return true
		})
		if err != nil {
			return nil, nil, err
		}
		if errors.Is(perr, errClaimLost) {
			return s, nil, ErrSessionPaying
		}
		if p != nil && !bound {
			return s, nil, fmt.Errorf("pay session %s: %w", s.ID, perr)
		}
		return s, nil, perr
	}
	if err := g.ensureDelivery(nctx, s, p, n); err != nil {
		return nil, nil, err
	}
	s, err := g.updateSession(nctx, s, func(s *Session) bool {
		if !s.Paying || s.Attempts != n || s.PaymentID != p.ID {
			return false
		}
		g.settleAttempt(s, p, n)
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	return s, p, perr
}

// ErrStaleForm answers a submit of a form shown before another submit of
// the same session: it pays nothing; the page shows the session as it is.
var ErrStaleForm = Errorf(ECONFLICT, "This form was sent again after the payment moved on; nothing was charged.")

// bindAttempt binds payment id to the session's attempt n, if the claim on
// it still holds: the payment may go to the network. Else errClaimLost.
func (g *Gateway) bindAttempt(ctx context.Context, s *Session, n int, paymentID string) error {
	bound := false
	_, err := g.updateSession(ctx, s, func(s *Session) bool {
		bound = s.Paying && s.Attempts == n && (s.PaymentID == "" || s.PaymentID == paymentID)
		if !bound || s.PaymentID == paymentID {
			return false
		}
		s.PaymentID = paymentID
		return true
	})
	switch {
	case err != nil:
		return fmt.Errorf("bind payment to session: %w", err)
	case !bound:
		return errClaimLost
	}
	return nil
}

// settleAttempt records the outcome of attempt n's payment on the session.
func (g *Gateway) settleAttempt(s *Session, p *Payment, n int) {
	now := g.now()
	s.Paying, s.PaymentID = false, p.ID
	if p.Approved() && (p.Status == StatusAuthorized || p.Status == StatusCaptured) {
		s.Status, s.Outcome, s.Sequence, s.CompletedAt = SessionComplete, OutcomeApproved, n, now
		return
	}
	s.Declines++
	if s.Declines >= MaxSessionDeclines {
		s.Status, s.Outcome, s.Sequence, s.CompletedAt = SessionComplete, OutcomeDeclined, n, now
	}
}

// endsSession reports whether attempt n's payment, settled on s, ends it.
func endsSession(s *Session, p *Payment) bool {
	return p.Approved() && (p.Status == StatusAuthorized || p.Status == StatusCaptured) || s.Declines+1 >= MaxSessionDeclines
}

// ensureDelivery records, before a proxy session's outcome is, that it
// must reach the merchant's response URL: if the node stops before it
// relays the page, the sweeper delivers it (after DeliveryGrace, the time
// the customer's own request has to do it).
func (g *Gateway) ensureDelivery(ctx context.Context, s *Session, p *Payment, n int) error {
	if s.Model != ModelProxy || g.Deliveries == nil || (p != nil && !endsSession(s, p)) {
		return nil
	}
	now := g.now()
	d := &Delivery{ID: NewID("dlv", now), MerchantID: s.MerchantID, SessionID: s.ID, Status: DeliveryPending,
		NextAt: now.Add(DeliveryGrace), CreatedAt: now, UpdatedAt: now}
	if err := g.Deliveries.CreateDelivery(ctx, d); err != nil && !errors.Is(err, ErrDuplicate) {
		return fmt.Errorf("record delivery: %w", err)
	}
	return nil
}

// recoverAttempt settles an attempt left paying by a node that stopped or
// stalled (after InDoubtAfter): the payment bound to it ends it (once
// recovery has settled that payment); without one, nothing went to the
// network and the claim is given back (the node that made it, if it wakes
// up, finds its claim lost and sends nothing).
func (g *Gateway) recoverAttempt(ctx context.Context, m *Merchant, s *Session) (*Session, error) {
	if !s.Paying || g.now().Sub(s.PayingSince) < g.inDoubtAfter() {
		return s, nil
	}
	n, bound := s.Attempts, s.PaymentID
	var p *Payment
	if bound != "" {
		var err error
		if p, err = g.Payments.Payment(ctx, m.ID, bound); err != nil {
			return nil, err
		}
		if p.Status == StatusPending {
			return s, nil
		}
		if err := g.ensureDelivery(ctx, s, p, n); err != nil {
			return nil, err
		}
	}
	return g.updateSession(ctx, s, func(s *Session) bool {
		if !s.Paying || s.Attempts != n || s.PaymentID != bound {
			return false
		}
		if p == nil {
			s.Paying = false
		} else {
			g.settleAttempt(s, p, n)
		}
		return true
	})
}

// RecoverSessions settles the sessions that attempts were left paying on
// (see recoverAttempt), so that a stopped node's sessions end (and their
// proxy deliveries go out) without waiting for someone to look at them.
func (g *Gateway) RecoverSessions(ctx context.Context) (int, error) {
	if g.Sessions == nil {
		return 0, nil
	}
	list, err := g.Sessions.StalePaying(ctx, g.now().Add(-g.inDoubtAfter()), 100)
	if err != nil {
		return 0, fmt.Errorf("list paying sessions: %w", err)
	}
	n := 0
	for _, s := range list {
		m, err := g.Merchants.Merchant(ctx, s.MerchantID)
		if err != nil {
			return n, err
		}
		after, err := g.recoverAttempt(ctx, m, s)
		if err != nil {
			return n, err
		}
		if !after.Paying {
			n++
		}
	}
	return n, nil
}

// CancelSession ends an open session without payment: the customer chose
// to go back to the merchant. Canceling twice is harmless.
func (g *Gateway) CancelSession(ctx context.Context, id string) (*Session, error) {
	s, _, _, err := g.PageSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.StatusAt(g.now()) == SessionOpen && !s.Paying {
		if err := g.ensureDelivery(ctx, s, nil, 0); err != nil {
			return nil, err
		}
	}
	var closed error
	s, err = g.updateSession(ctx, s, func(s *Session) bool {
		closed = nil
		switch st := s.StatusAt(g.now()); {
		case s.Status == SessionCanceled:
			return false
		case s.Paying:
			closed = ErrSessionPaying
			return false
		case st != SessionOpen:
			closed = sessionClosedError(s, st)
			return false
		}
		s.Status, s.Outcome, s.Sequence, s.CompletedAt = SessionCanceled, OutcomeCanceled, s.Attempts+1, g.now()
		return true
	})
	if err != nil {
		return nil, err
	}
	return s, closed
}

// updateSession applies change to s and saves it, reloading and applying
// again when another request changed it in between; change returns false
// to leave the session as it is. It returns the session as stored.
func (g *Gateway) updateSession(ctx context.Context, s *Session, change func(*Session) bool) (*Session, error) {
	for try := 0; ; try++ {
		if !change(s) {
			return s, nil
		}
		s.UpdatedAt = g.now()
		err := g.Sessions.UpdateSession(ctx, s)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, fmt.Errorf("update session: %w", err)
		}
		if err := conflictBackoff(ctx, try); err != nil {
			return nil, err
		}
		if s, err = g.Sessions.Session(ctx, s.MerchantID, s.ID); err != nil {
			return nil, err
		}
	}
}

// sessionClosedError says why a session can no longer be paid.
func sessionClosedError(s *Session, st SessionStatus) error {
	switch {
	case st == SessionExpired:
		return Errorf(ECONFLICT, "This payment session has expired.")
	case st == SessionCanceled:
		return Errorf(ECONFLICT, "This payment session was canceled.")
	case s.Outcome == OutcomeApproved:
		return Errorf(ECONFLICT, "This payment session has already been paid.")
	}
	return Errorf(ECONFLICT, "This payment session has ended.")
}

// ResultFields names every parameter a result may carry.
var ResultFields = []string{"session_id", "result", "amount", "currency", "order_id", "sequence", "payment_id", "status",
	"card_brand", "card_last4", "confirmation_number", "decline_code", "timestamp", "signature"}

// ResultValues is a session's outcome as the redirect, the proxy GET and
// GetResult carry it (before the timestamp and signature). Nothing of the
// card but its brand and last four digits.
func ResultValues(s *Session, p *Payment) url.Values {
	q := url.Values{}
	add := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	add("session_id", s.ID)
	add("result", s.Outcome)
	add("amount", strconv.FormatInt(s.Amount, 10))
	add("currency", s.Currency.Code)
	add("order_id", s.OrderID)
	add("sequence", strconv.Itoa(s.Sequence))
	if p != nil && s.Outcome != OutcomeCanceled {
		add("payment_id", p.ID)
		add("status", string(p.Status))
		add("card_brand", p.Card.Brand)
		add("card_last4", p.Card.Last4)
		if s.Outcome == OutcomeApproved {
			add("confirmation_number", p.ConfirmationNumber)
		} else {
			add("decline_code", p.DeclineCode)
		}
	}
	return q
}

// ResultURL returns where the session's outcome goes, signed: the return
// URL after an approval, the merchant's decline URL (or the return URL)
// after the last decline (the proxy model: the return URL, its response
// URL), the cancel URL (the session's, the merchant's,
// or the return URL) after a cancel. Parameters the URL already has are
// kept and signed too.
func (g *Gateway) ResultURL(ctx context.Context, m *Merchant, s *Session, p *Payment) (string, error) {
	if s.Outcome == "" {
		return "", fmt.Errorf("session %s has no outcome yet", s.ID)
	}
	target := s.ReturnURL
	switch {
	case s.Outcome == OutcomeCanceled:
		target = firstNonEmpty(s.CancelURL, m.CancelURL, s.ReturnURL)
	case s.Outcome == OutcomeDeclined && s.Model != ModelProxy:
		// In the proxy model the return URL is the one response URL
		// that handles every result.
		target = firstNonEmpty(m.DeclineURL, s.ReturnURL)
	}
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("parse result URL: %w", err)
	}
	keys, err := g.signingKeys(ctx, m.ID)
	if err != nil {
		return "", err
	}
	q := u.Query()
	// The merchant's own parameters stay; none may pass for part of the
	// result.
	for _, k := range ResultFields {
		q.Del(k)
	}
	for k, v := range ResultValues(s, p) {
		q[k] = v
	}
	SignQuery(keys, q, g.now())
	u.RawQuery = q.Encode()
	u.Fragment = ""
	return u.String(), nil
}

func firstNonEmpty(list ...string) string {
	for _, s := range list {
		if s != "" {
			return s
		}
	}
	return ""
}
