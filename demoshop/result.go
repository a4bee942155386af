package demoshop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/paygate/paygate/client"
)

// BadSignatureMessage is the page a result with a signature that does not
// verify gets (status 400).
const BadSignatureMessage = "This payment result's signature is not valid; nothing was fulfilled."

// redirectResult is the Web Redirect landing: the customer's browser
// arrives with the signed result in the query. (Declines and cancels of
// every session come here too: they are the settings' decline and cancel
// URLs.)
func (s *Shop) redirectResult(w http.ResponseWriter, r *http.Request) {
	s.result(w, r)
}

// proxyResult is the Web Proxy response URL: the gateway GETs it, server
// to server, with the signed result and shows the customer what it
// answers. That request carries none of the customer's cookies: the order
// is found by the signed session id alone.
func (s *Shop) proxyResult(w http.ResponseWriter, r *http.Request) {
	if s.ProxyDown.Load() {
		s.fail(w, http.StatusServiceUnavailable, "The shop's result page is down for this demonstration: the gateway shows its own receipt and delivers the result again later.")
		return
	}
	s.result(w, r)
}

func (s *Shop) result(w http.ResponseWriter, r *http.Request) {
	o, err := s.settle(r.Context(), r.URL.Query())
	if err != nil {
		var re *resultError
		if !errors.As(err, &re) {
			re = &resultError{http.StatusInternalServerError, "Something went wrong in the shop; nothing was fulfilled."}
		}
		s.fail(w, re.status, re.message)
		return
	}
	s.render(w, http.StatusOK, "result", s.resultView(o))
}

// resultError is a result the shop refuses, and what the page says.
type resultError struct {
	status  int
	message string
}

func (e *resultError) Error() string { return e.message }

// settle handles a signed result from the gateway, as a merchant must:
//
//  1. verify its signature (client.VerifyQuery) and refuse it if it does
//     not verify. A genuine result older than the tolerance (a reload, a
//     bookmark) is not refused: the gateway is asked instead;
//  2. ask the gateway (client.Session) and refuse a result that does not
//     match what it reports, or a price that is not the order's;
//  3. record the outcome and fulfil an approval once, however often the
//     result arrives (orders are kept by session id);
//  4. acknowledge the approval (client.AckSession), so that a merchant who
//     requires acknowledgments keeps the money.
func (s *Shop) settle(ctx context.Context, q url.Values) (Order, error) {
	res, err := client.VerifyQuery(q, s.now(), s.SigningSecret)
	id := ""
	switch {
	case err == nil:
		id = res.SessionID
	case errors.Is(err, client.ErrExpired):
		// The signature is checked first: the result is genuine, only
		// old. The gateway's word is taken instead of its own.
		res, id = nil, q.Get("session_id")
	default:
		s.Logger.Warn("refused a payment result", "error", err)
		return Order{}, &resultError{http.StatusBadRequest, BadSignatureMessage}
	}
	if id == "" {
		return Order{}, &resultError{http.StatusBadRequest, "This payment result names no payment session; nothing was fulfilled."}
	}
	sess, err := s.Client.Session(ctx, id)
	if err != nil {
		s.Logger.Error("confirm a payment result with the gateway", "session_id", id, "error", err)
		return Order{}, &resultError{http.StatusBadGateway,
			"The shop could not confirm this payment with the gateway; nothing was fulfilled yet. Reload this page to try again."}
	}
	if res != nil {
		if why := mismatch(res, sess); why != "" {
			s.Logger.Warn("a payment result does not match the gateway's session", "session_id", id, "mismatch", why)
			return Order{}, &resultError{http.StatusConflict, "This payment result does not match what the gateway reports; nothing was fulfilled."}
		}
	}
	if sess.Outcome == "" {
		return Order{}, &resultError{http.StatusConflict, "The gateway reports this payment as not finished yet; nothing was fulfilled."}
	}
	if sess.Amount != ItemPrice || sess.Currency != ItemCurrency {
		s.Logger.Warn("a payment is not for the item's price", "session_id", id, "order_id", sess.OrderID,
			"amount", sess.Amount, "currency", sess.Currency)
		return Order{}, &resultError{http.StatusConflict, fmt.Sprintf(
			"The payment (%s) is not for this shop's order of one %s at %s; nothing was fulfilled.",
			money(sess.Amount, sess.Currency), ItemName, money(ItemPrice, ItemCurrency))}
	}
	// A session the shop started has its order; the signed form's is
	// first heard of here.
	o := s.orderFor(id, func() Order {
		return Order{ID: sess.OrderID, Flow: flowOf(sess.OrderID, sess.Model), SessionID: id,
			Amount: sess.Amount, Currency: sess.Currency, CreatedAt: s.now()}
	})
	o.proc.Lock()
	defer o.proc.Unlock()
	if known := s.update(o, func(*Order) {}); known.ID != sess.OrderID {
		s.Logger.Warn("a payment session is not for its order", "session_id", id, "order_id", known.ID, "session_order_id", sess.OrderID)
		return Order{}, &resultError{http.StatusConflict, "This payment is not for the order the shop started it for; nothing was fulfilled."}
	}
	got := s.update(o, func(x *Order) {
		if x.Outcome != "" {
			return // recorded already: this is a replay
		}
		x.Outcome = string(sess.Outcome)
		if p := sess.Payment; p != nil && sess.Outcome != client.OutcomeCanceled {
			x.PaymentID, x.ConfirmationNumber, x.DeclineCode, x.DeclineReason = p.ID, p.ConfirmationNumber, p.DeclineCode, p.DeclineReason
			if p.Card != nil {
				x.CardBrand, x.CardLast4 = p.Card.Brand, p.Card.Last4
			}
		}
		if sess.Outcome == client.OutcomeApproved {
			x.Fulfilled++
			s.Logger.Info("order fulfilled: one "+ItemName+" to ship", "order_id", x.ID, "session_id", id, "payment_id", x.PaymentID)
		}
	})
	if got.Outcome == string(client.OutcomeApproved) && !got.Acked {
		if _, err := s.Client.AckSession(ctx, id); err != nil {
			// Tried again when the result comes again.
			s.Logger.Error("acknowledge a session", "session_id", id, "error", err)
		} else {
			got = s.update(o, func(x *Order) { x.Acked = true })
		}
	}
	return got, nil
}

// mismatch says how a verified result differs from the gateway's session,
// or "" if it does not.
func mismatch(res *client.Result, sess *client.Session) string {
	switch {
	case res.Outcome != sess.Outcome:
		return fmt.Sprintf("outcome %q, the gateway's %q", res.Outcome, sess.Outcome)
	case res.Sequence != sess.Sequence:
		return fmt.Sprintf("sequence %d, the gateway's %d", res.Sequence, sess.Sequence)
	case res.Amount != sess.Amount || res.Currency != sess.Currency:
		return fmt.Sprintf("amount %d %s, the gateway's %d %s", res.Amount, res.Currency, sess.Amount, sess.Currency)
	case res.OrderID != sess.OrderID:
		return fmt.Sprintf("order %q, the gateway's %q", res.OrderID, sess.OrderID)
	case res.PaymentID != "" && (sess.Payment == nil || sess.Payment.ID != res.PaymentID):
		return "another payment than the gateway's"
	}
	return ""
}
