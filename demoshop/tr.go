package demoshop

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/paygate/paygate/client"
)

// The transparent redirect checkout: the shop's own card form, whose
// action is the gateway's /tr, so that the card goes from the customer's
// browser to the gateway and never to the shop. The shop's server only
// makes the form's hidden fields (client.TransparentRedirectFields, with
// its access key, which never goes into the page) and reads the signed
// result the gateway sends the browser back with.

// trView is the shop's transparent redirect form.
type trView struct {
	view
	Action string     // the gateway's /tr
	Fields url.Values // the hidden fields, hashed with the access key
	Error  string
}

// trForm serves GET /tr: the card form, for a new order (each page gets
// fields of its own: a form pays once).
func (s *Shop) trForm(w http.ResponseWriter, r *http.Request) {
	v := trView{view: s.view("Pay on this shop's form, straight to the gateway"), Action: s.GatewayURL + "/tr"}
	v.Model = models[FlowTR]
	if s.MerchantID == "" || s.AccessKey == "" {
		v.Error = "The shop has no access key yet: run Setup first."
		s.render(w, http.StatusServiceUnavailable, "tr", v)
		return
	}
	fields, err := client.TransparentRedirectFields(client.TRParams{
		AccountID:   s.MerchantID,
		Amount:      ItemPrice,
		Type:        client.TRSale,
		Description: ItemName,
		OrderID:     newOrderID(FlowTR),
		SuccessURL:  s.URL + "/tr/success",
		DeclineURL:  s.URL + "/tr/decline",
	}, s.AccessKey, s.now())
	if err != nil {
		s.Logger.Error("make the transparent redirect form", "error", err)
		v.Error = "The shop could not make its payment form."
		s.render(w, http.StatusInternalServerError, "tr", v)
		return
	}
	v.Fields = fields
	s.render(w, http.StatusOK, "tr", v)
}

// trResult serves GET /tr/success and /tr/decline, where the gateway sends
// the customer's browser with the signed result.
func (s *Shop) trResult(w http.ResponseWriter, r *http.Request) {
	o, msg, err := s.settleTR(r.Context(), r.URL.Query())
	if err != nil {
		var re *resultError
		if !errors.As(err, &re) {
			re = &resultError{http.StatusInternalServerError, "Something went wrong in the shop; nothing was fulfilled."}
		}
		s.fail(w, re.status, re.message)
		return
	}
	if o == nil {
		// Nothing was charged: the form was refused before a payment (a
		// mistyped card, say). The gateway's message says why.
		v := trView{view: s.view("Payment not made")}
		v.Model = models[FlowTR]
		v.Error = msg
		s.render(w, http.StatusOK, "tr", v)
		return
	}
	s.render(w, http.StatusOK, "result", s.resultView(*o))
}

// settleTR handles a transparent redirect's signed result as a merchant
// must:
//
//  1. verify its signature (client.VerifyTransparentRedirect) and refuse
//     it if it does not verify (a genuine result that is only old is
//     confirmed with the gateway instead);
//  2. with a payment, ask the gateway (client.GetPayment) and refuse a
//     result that does not match it, or a price that is not the item's;
//  3. record the outcome and fulfil an approval once, however often the
//     result arrives (orders are kept by payment id), and acknowledge it.
//
// Without a payment (nothing was charged) it returns no order and the
// gateway's message for the customer.
func (s *Shop) settleTR(ctx context.Context, q url.Values) (*Order, string, error) {
	res, err := client.VerifyTransparentRedirect(q, s.now(), s.SigningSecret)
	id := ""
	switch {
	case err == nil:
		id = res.TransactionID
	case errors.Is(err, client.ErrExpired):
		res, id = nil, q.Get("transaction_id")
	default:
		s.Logger.Warn("refused a transparent redirect result", "error", err)
		return nil, "", &resultError{http.StatusBadRequest, BadSignatureMessage}
	}
	if id == "" {
		if res == nil {
			return nil, "", &resultError{http.StatusBadRequest, "This payment result is too old and names no payment; nothing was fulfilled."}
		}
		s.Logger.Info("transparent redirect: nothing charged", "order_id", res.OrderID, "error_code", res.ErrorCode, "error_param", res.ErrorParam)
		return nil, res.ErrorMessage, nil
	}
	pay, err := s.Client.GetPayment(ctx, id)
	if err != nil {
		s.Logger.Error("confirm a payment result with the gateway", "payment_id", id, "error", err)
		return nil, "", &resultError{http.StatusBadGateway,
			"The shop could not confirm this payment with the gateway; nothing was fulfilled yet. Reload this page to try again."}
	}
	approved := pay.Status == client.StatusCaptured || pay.Status == client.StatusAuthorized
	if res != nil && (res.Approved != approved || res.OrderID != pay.OrderID || res.Amount != pay.Amount) {
		s.Logger.Warn("a payment result does not match the gateway's payment", "payment_id", id)
		return nil, "", &resultError{http.StatusConflict, "This payment result does not match what the gateway reports; nothing was fulfilled."}
	}
	if !validOrderID(pay.OrderID, FlowTR) || pay.Amount != ItemPrice || pay.Currency != ItemCurrency {
		s.Logger.Warn("a payment is not for the item's price", "payment_id", id, "order_id", pay.OrderID, "amount", pay.Amount)
		return nil, "", &resultError{http.StatusConflict, fmt.Sprintf(
			"The payment (%s) is not for this shop's order of one %s at %s; nothing was fulfilled.",
			money(pay.Amount, pay.Currency), ItemName, money(ItemPrice, ItemCurrency))}
	}
	outcome := client.OutcomeApproved
	if !approved {
		outcome = client.OutcomeDeclined
	}
	o := s.orderFor(pay.ID, func() Order {
		x := Order{ID: pay.OrderID, Flow: FlowTR, PaymentID: pay.ID, Outcome: string(outcome), Amount: pay.Amount,
			Currency: pay.Currency, ConfirmationNumber: pay.ConfirmationNumber, DeclineCode: pay.DeclineCode,
			DeclineReason: pay.DeclineReason, CreatedAt: s.now()}
		if pay.Card != nil {
			x.CardBrand, x.CardLast4 = pay.Card.Brand, pay.Card.Last4
		}
		return x
	})
	o.proc.Lock()
	defer o.proc.Unlock()
	got := s.update(o, func(x *Order) {
		if x.Outcome == string(client.OutcomeApproved) && x.Fulfilled == 0 {
			x.Fulfilled++
			s.Logger.Info("order fulfilled: one "+ItemName+" to ship", "order_id", x.ID, "payment_id", pay.ID)
		}
	})
	if got.Outcome == string(client.OutcomeApproved) && !got.Acked {
		// Needed only if the merchant requires acknowledgments.
		if _, err := s.Client.Ack(ctx, pay.ID); err != nil {
			s.Logger.Error("acknowledge a payment", "payment_id", pay.ID, "error", err)
		} else {
			got = s.update(o, func(x *Order) { x.Acked = true })
		}
	}
	return &got, "", nil
}
