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

// PaySession pays a session with the card the customer typed on the
// payment page (seed 002 step 5). Each submit claims the session first, so
// a double click, a refresh or a second tab never makes a second payment:
// the later submit gets ErrSessionPaying, or the session as it ended.
//
// It returns the session and the attempt's payment with, on a decline, the
// decline *Error (the session stays open for another try until
// MaxSessionDeclines); a card that fails validation (a parameter *Error)
// uses no attempt. A session that is not open is returned with an ECONFLICT
// *Error.
func (g *Gateway) PaySession(ctx context.Context, id string, card Card) (*Session, *Payment, error) {
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
		}
		// The customer types the card on our page: the CVC is required.
		if err := card.Validate(now, true); err != nil {
			return s, nil, err
		}
		s.Paying, s.PayingSince, s.Attempts = true, now, s.Attempts+1
		s.UpdatedAt = now
		err = g.Sessions.UpdateSession(ctx, s)
		if err == nil {
			break
		}
		if !errors.Is(err, ErrVersionConflict) {
			return nil, nil, fmt.Errorf("claim session: %w", err)
		}
	}
	n := s.Attempts
	// The payment must finish, and be recorded on the session, even if
	// the customer closes the tab.
	nctx := context.WithoutCancel(ctx)
	p, perr := g.CreatePayment(nctx, m, PaymentRequest{
		Amount: s.Amount, Currency: s.Currency.Code, Card: &card, Capture: s.Capture,
		Description: s.Description, OrderID: s.OrderID, Metadata: s.Metadata, ReceiptEmail: s.CustomerEmail,
		IdempotencyKey: s.attemptKey(n),
	})
	card.Number, card.CVC = "", ""
	if p == nil {
		// Nothing was charged (or what was is pending and recovery
		// reverses it): give the attempt back.
		g.updateSession(nctx, s, func(s *Session) bool {
			if !s.Paying || s.Attempts != n {
				return false
			}
			s.Paying, s.Attempts = false, n-1
			return true
		})
		return s, nil, perr
	}
	s, err := g.updateSession(nctx, s, func(s *Session) bool {
		if !s.Paying || s.Attempts != n {
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

// settleAttempt records attempt n's payment on the session.
func (g *Gateway) settleAttempt(s *Session, p *Payment, n int) {
	now := g.now()
	s.Paying, s.PaymentID = false, p.ID
	switch {
	case p.Approved() && (p.Status == StatusAuthorized || p.Status == StatusCaptured):
		s.Status, s.Outcome, s.Sequence, s.CompletedAt = SessionComplete, OutcomeApproved, n, now
	case n >= MaxSessionDeclines:
		s.Status, s.Outcome, s.Sequence, s.CompletedAt = SessionComplete, OutcomeDeclined, n, now
	}
}

// recoverAttempt settles an attempt left paying by a node that stopped
// (after InDoubtAfter): the attempt's payment, found by its idempotency
// key, ends it; without one, nothing was charged and the attempt is given
// back. A payment still in doubt waits for recovery.
func (g *Gateway) recoverAttempt(ctx context.Context, m *Merchant, s *Session) (*Session, error) {
	if !s.Paying || g.now().Sub(s.PayingSince) < g.inDoubtAfter() {
		return s, nil
	}
	n := s.Attempts
	p, err := g.Payments.PaymentByIdempotencyKey(ctx, m.ID, s.attemptKey(n))
	switch {
	case ErrorCode(err) == ENOTFOUND:
		p = nil
	case err != nil:
		return nil, err
	case p.Status == StatusPending:
		return s, nil
	}
	return g.updateSession(ctx, s, func(s *Session) bool {
		if !s.Paying || s.Attempts != n {
			return false
		}
		if p == nil {
			s.Paying, s.Attempts = false, n-1
		} else {
			g.settleAttempt(s, p, n)
		}
		return true
	})
}

// CancelSession ends an open session without payment: the customer chose
// to go back to the merchant. Canceling twice is harmless.
func (g *Gateway) CancelSession(ctx context.Context, id string) (*Session, error) {
	s, _, _, err := g.PageSession(ctx, id)
	if err != nil {
		return nil, err
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
