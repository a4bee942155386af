package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// The Virtual Terminal: a merchant keys in a card for a mail or telephone
// order (paygate.ChannelMOTO on the network). The same validation and
// declines as the API. Each form carries a one-time token that becomes the
// payment's Idempotency-Key, claimed in the database before anything is
// sent: a double click, a reload or a second node sees the claim and shows
// the first request's receipt, so the card is charged once.

// terminalCurrencies are the currencies the form offers first.
var terminalCurrencies = []string{"USD", "EUR", "GBP", "CAD", "AUD", "JPY", "CHF"}

type terminalData struct {
	Token, Type, Amount, Currency, OrderID, Email, ExpMonth, ExpYear string
	Currencies                                                       []string
	Error, ErrorField                                                string
	Declined                                                         *paymentRow
}

func (d *Dashboard) terminalPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "terminal", terminalData{Token: newTerminalToken(), Type: "sale", Currency: "USD",
		Currencies: terminalCurrencies})
}

func newTerminalToken() string { return "vt_" + paygate.RandomToken(24) }

// terminalWait bounds how long a repeated submission waits for the first
// one's answer before it says the payment is still being processed.
const terminalWait = 15 * time.Second

func (d *Dashboard) terminalPay(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	ctx := r.Context()
	form := terminalData{Token: r.PostFormValue("token"), Type: r.PostFormValue("type"), Amount: strings.TrimSpace(r.PostFormValue("amount")),
		Currency: strings.ToUpper(r.PostFormValue("currency")), OrderID: strings.TrimSpace(r.PostFormValue("order_id")),
		Email: strings.TrimSpace(r.PostFormValue("email")), ExpMonth: r.PostFormValue("exp_month"), ExpYear: r.PostFormValue("exp_year"),
		Currencies: terminalCurrencies}
	again := func(status int, field, msg string) {
		// The card fields are never sent back: they are typed again.
		form.Token, form.Error, form.ErrorField = newTerminalToken(), msg, field
		d.render(w, r, status, "terminal", form)
	}
	if !strings.HasPrefix(form.Token, "vt_") || len(form.Token) > 100 {
		again(http.StatusUnprocessableEntity, "", "This form has expired. Check the details and submit it again.")
		return
	}
	cur, ok := paygate.LookupCurrency(form.Currency)
	if !ok {
		again(http.StatusUnprocessableEntity, "currency", "Choose a currency.")
		return
	}
	amount, ok := paygate.ParseMajorAmount(form.Amount, cur.Exponent)
	if !ok {
		again(http.StatusUnprocessableEntity, "amount", "Enter an amount such as "+paygate.FormatAmount(1250, cur)+".")
		return
	}
	month, _ := strconv.Atoi(form.ExpMonth)
	year, _ := strconv.Atoi(form.ExpYear)
	if year > 0 && year < 100 {
		year += 2000
	}
	req := paygate.PaymentRequest{Amount: amount, Currency: cur.Code, Capture: form.Type != "authorization",
		Card:    &paygate.Card{Number: r.PostFormValue("card_number"), ExpMonth: month, ExpYear: year, CVC: strings.TrimSpace(r.PostFormValue("cvc"))},
		OrderID: form.OrderID, ReceiptEmail: form.Email, Channel: paygate.ChannelMOTO, IdempotencyKey: form.Token,
		Metadata: map[string]string{"entered_by": u.Email}}

	// Claim the form's token; a second submission finds the claim.
	now := d.now()
	rec := &paygate.IdempotencyRecord{MerchantID: m.ID, Key: form.Token, RequestHash: "dashboard-terminal", CreatedAt: now, LockedAt: now}
	if d.Idempotency != nil {
		existing, err := d.Idempotency.BeginIdempotent(ctx, rec, now.Add(-terminalWait-time.Minute))
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		if existing != nil {
			d.terminalRepeat(w, r, m, form.Token)
			return
		}
	}
	p, err := d.Gateway.CreatePayment(ctx, m, req)
	req.Card = nil
	if p == nil {
		// Nothing was recorded: the same token may be used again.
		if d.Idempotency != nil {
			if rerr := d.Idempotency.ReleaseIdempotent(context.WithoutCancel(ctx), m.ID, form.Token); rerr != nil {
				d.Logger.Error("release terminal token", paygate.LogRequestID, requestID(ctx), paygate.LogError, rerr)
			}
		}
		var perr *paygate.Error
		if errors.As(err, &perr) {
			again(http.StatusUnprocessableEntity, perr.Param, perr.Message)
			return
		}
		d.internalError(w, r, err)
		return
	}
	if d.Idempotency != nil {
		rec.Done, rec.Status, rec.Body = true, http.StatusOK, []byte(p.ID)
		if cerr := d.Idempotency.CompleteIdempotent(context.WithoutCancel(ctx), rec); cerr != nil {
			d.Logger.Error("complete terminal token", paygate.LogRequestID, requestID(ctx), paygate.LogError, cerr)
		}
	}
	if d.Audit != nil {
		detail := paygate.FormatAmount(p.Amount, p.Currency) + " " + p.Currency.Code + " " + string(p.Status)
		if aerr := d.Audit.AppendAudit(context.WithoutCancel(ctx), d.auditEntry(r, u, "terminal.payment", p.ID, detail)); aerr != nil {
			d.Logger.Error("audit", paygate.LogRequestID, requestID(ctx), paygate.LogError, aerr)
		}
	}
	if err != nil && p.Status != paygate.StatusDeclined && p.Status != paygate.StatusFailed {
		d.internalError(w, r, err)
		return
	}
	http.Redirect(w, r, "/dashboard/receipts/"+p.ID+"?new=1", http.StatusSeeOther)
}

// terminalRepeat answers a form submitted again: with the receipt of the
// payment the first submission made, once it is known.
func (d *Dashboard) terminalRepeat(w http.ResponseWriter, r *http.Request, m *paygate.Merchant, token string) {
	deadline := time.Now().Add(terminalWait)
	for {
		p, err := d.Gateway.PaymentByIdempotencyKey(r.Context(), m, token)
		if err == nil && !p.Status.InDoubt() {
			http.Redirect(w, r, "/dashboard/receipts/"+p.ID+"?new=1", http.StatusSeeOther)
			return
		}
		if err != nil && paygate.ErrorCode(err) != paygate.ENOTFOUND {
			d.internalError(w, r, err)
			return
		}
		if time.Now().After(deadline) {
			d.message(w, r, http.StatusAccepted, "This payment is still being processed",
				"The form was submitted twice; the card is charged at most once. Find the payment in Payments in a moment.")
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type receiptData struct {
	P                                  *paygate.Payment
	Merchant, Amount, Card, Date, Type string
	Approved, New                      bool
	Status, Decline                    string
	CanTerminal                        bool // the "New payment" button: operators and admins
}

// receiptPage is a payment's printable receipt.
func (d *Dashboard) receiptPage(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	p, ok := d.loadPayment(w, r, m)
	if !ok {
		return
	}
	typ := "Authorization"
	if p.CaptureRequested {
		typ = "Sale"
	}
	d.render(w, r, http.StatusOK, "receipt", receiptData{P: p, Merchant: m.Title(), Amount: formatMoney(p.Amount, p.Currency).Text(),
		Card: cardLabel(p.Card), Date: when(p.CreatedAt, merchantLocation(m)), Type: typ, Approved: p.Approved(),
		New: r.URL.Query().Get("new") == "1", Status: statusLabel(p.Status), Decline: p.DeclineReason,
		CanTerminal: u.Role.Can(paygate.PermTerminal)})
}
