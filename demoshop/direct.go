package demoshop

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/paygate/paygate/client"
)

// directView is the shop's own card form. It never carries a card number
// or a CVC back to the browser: after a decline they are typed again.
type directView struct {
	view
	OrderID  string // the next payment's order id, and its idempotency key
	Name     string
	ExpMonth string
	ExpYear  string
	Error    string
	Field    string // the field at fault, if the gateway named one
}

// directForm shows the card form, for a new order id: submitting the
// form twice (a double click, a refresh) sends the same idempotency key,
// and so makes one payment.
func (s *Shop) directForm(w http.ResponseWriter, r *http.Request) {
	v := directView{view: s.view("Pay on this shop's form"), OrderID: newOrderID(FlowDirect),
		ExpMonth: "12", ExpYear: strconv.Itoa(s.now().Year() + 2)}
	v.Model = models[FlowDirect]
	s.render(w, http.StatusOK, "direct", v)
}

// directPay charges the card typed on the shop's form (client.CreatePayment,
// a sale): the receipt after an approval, the form again with the reason
// after a decline or an invalid card. The card number and CVC are only
// passed on to the gateway: never logged, kept or shown.
func (s *Shop) directPay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.fail(w, http.StatusBadRequest, "The card form could not be read.")
		return
	}
	f := r.PostForm
	id := f.Get("order_id")
	if !validOrderID(id, FlowDirect) {
		id = newOrderID(FlowDirect)
	}
	month, _ := strconv.Atoi(strings.TrimSpace(f.Get("exp_month")))
	year, _ := strconv.Atoi(strings.TrimSpace(f.Get("exp_year")))
	card := &client.CardParams{Number: f.Get("number"), ExpMonth: month, ExpYear: year, CVC: f.Get("cvc"), Name: f.Get("name")}
	f.Del("number")
	f.Del("cvc")
	pay, err := s.Client.CreatePayment(r.Context(), client.PaymentParams{
		Amount:         ItemPrice,
		Currency:       ItemCurrency,
		Card:           card,
		Description:    ItemName,
		OrderID:        id,
		IdempotencyKey: "demo-shop/" + id,
	})
	card.Number, card.CVC = "", ""
	again := directView{view: s.view("Pay on this shop's form"), OrderID: newOrderID(FlowDirect),
		Name: f.Get("name"), ExpMonth: f.Get("exp_month"), ExpYear: f.Get("exp_year")}
	again.Model = models[FlowDirect]
	var e *client.Error
	switch {
	case err == nil && (pay.Status == client.StatusCaptured || pay.Status == client.StatusAuthorized):
		o := s.recordDirect(r, id, pay)
		s.render(w, http.StatusOK, "result", s.resultView(o))
	case err == nil:
		s.Logger.Warn("a direct payment did not go through", "order_id", id, "payment_id", pay.ID, "status", pay.Status)
		again.Error = "The payment did not go through (" + string(pay.Status) + "); nothing was charged. Please try again."
		s.render(w, http.StatusBadGateway, "direct", again)
	case client.IsDeclined(err) && errors.As(err, &e):
		if e.PaymentID != "" {
			s.orderFor(e.PaymentID, func() Order {
				return Order{ID: id, Flow: FlowDirect, PaymentID: e.PaymentID, Outcome: string(client.OutcomeDeclined),
					Amount: ItemPrice, Currency: ItemCurrency, DeclineCode: e.DeclineCode, DeclineReason: e.Message, CreatedAt: s.now()}
			})
		}
		s.Logger.Info("direct payment declined", "order_id", id, "payment_id", e.PaymentID, "decline_code", e.DeclineCode)
		again.Error = e.Message
		s.render(w, http.StatusPaymentRequired, "direct", again)
	case errors.As(err, &e) && e.Status < 500:
		// The gateway refused the card as typed (an incorrect number, a
		// past expiry): its message says why, Param names the field.
		again.Error, again.Field = customerMessage(err), e.Param
		s.render(w, http.StatusUnprocessableEntity, "direct", again)
	default:
		s.Logger.Error("direct payment", "order_id", id, "error", err)
		again.Error = customerMessage(err)
		s.render(w, http.StatusBadGateway, "direct", again)
	}
}

// recordDirect records an approved direct payment (kept by payment id: a
// form sent twice gets the same payment back, and the same receipt),
// fulfils it once and acknowledges it.
func (s *Shop) recordDirect(r *http.Request, id string, pay *client.Payment) Order {
	o := s.orderFor(pay.ID, func() Order {
		x := Order{ID: id, Flow: FlowDirect, PaymentID: pay.ID, Outcome: string(client.OutcomeApproved),
			Amount: pay.Amount, Currency: pay.Currency, ConfirmationNumber: pay.ConfirmationNumber, CreatedAt: s.now()}
		if pay.Card != nil {
			x.CardBrand, x.CardLast4 = pay.Card.Brand, pay.Card.Last4
		}
		return x
	})
	o.proc.Lock()
	defer o.proc.Unlock()
	got := s.update(o, func(x *Order) {
		if x.Fulfilled == 0 {
			x.Fulfilled++
			s.Logger.Info("order fulfilled: one "+ItemName+" to ship", "order_id", x.ID, "payment_id", pay.ID)
		}
	})
	if got.Acked {
		return got
	}
	// Needed only if the merchant requires acknowledgments; harmless if not.
	if _, err := s.Client.Ack(r.Context(), pay.ID); err != nil {
		s.Logger.Error("acknowledge a payment", "payment_id", pay.ID, "error", err)
		return got
	}
	return s.update(o, func(x *Order) { x.Acked = true })
}
