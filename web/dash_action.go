package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/paygate/paygate"
)

// Capture, void and refund from a payment's page: a GET shows what will
// happen and asks to confirm (an amount for a partial capture or refund);
// the POST does it, writes the audit log, and returns to the payment.

type actionData struct {
	P                           *paygate.Payment
	Action, Verb, Heading, Text string
	Amount                      string // the default amount, major units
	AmountLabel                 string
	Error                       string
}

func actionOf(r *http.Request) string {
	switch a := r.PathValue("action"); a {
	case "capture", "void", "refund":
		return a
	}
	return ""
}

func (d *Dashboard) confirmPage(w http.ResponseWriter, r *http.Request) {
	d.renderConfirm(w, r, http.StatusOK, "")
}

func (d *Dashboard) renderConfirm(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	_, m := signedIn(r)
	action := actionOf(r)
	if action == "" {
		d.notFound(w, r)
		return
	}
	p, ok := d.loadPayment(w, r, m)
	if !ok {
		return
	}
	amount := formatMoney(p.Amount, p.Currency).Text()
	data := actionData{P: p, Action: action, Error: errMsg}
	switch action {
	case "capture":
		data.Verb, data.Heading = "Capture", "Capture this payment?"
		data.Text = "The customer's card is charged up to the authorized " + amount + ". Capture less to charge less; the rest of the hold is released."
		data.Amount, data.AmountLabel = paygate.FormatAmount(p.Amount, p.Currency), "Amount to capture ("+p.Currency.Code+")"
	case "void":
		data.Verb, data.Heading = "Void", "Void this payment?"
		data.Text = "The payment of " + amount + " is cancelled before it settles: nothing is charged. This cannot be undone."
	case "refund":
		data.Verb, data.Heading = "Refund", "Refund this payment?"
		left := p.Refundable()
		data.Text = formatMoney(left, p.Currency).Text() + " is left to refund. The money goes back to the customer's card."
		data.Amount, data.AmountLabel = paygate.FormatAmount(left, p.Currency), "Amount to refund ("+p.Currency.Code+")"
	}
	d.render(w, r, status, "confirm", data)
}

func (d *Dashboard) doAction(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	action := actionOf(r)
	if action == "" {
		d.notFound(w, r)
		return
	}
	p, ok := d.loadPayment(w, r, m)
	if !ok {
		return
	}
	ctx := r.Context()
	var amount int64
	if action != "void" {
		s := strings.TrimSpace(r.PostFormValue("amount"))
		a, ok := paygate.ParseMajorAmount(s, p.Currency.Exponent)
		if !ok {
			d.renderConfirm(w, r, http.StatusUnprocessableEntity, "Enter an amount such as "+paygate.FormatAmount(p.Amount, p.Currency)+".")
			return
		}
		amount = a
	}
	var err error
	detail := ""
	switch action {
	case "capture":
		_, err = d.Gateway.Capture(ctx, m, p.ID, amount)
		detail = paygate.FormatAmount(amount, p.Currency) + " " + p.Currency.Code
	case "void":
		_, err = d.Gateway.Void(ctx, m, p.ID)
	case "refund":
		var rf *paygate.Refund
		rf, err = d.Gateway.Refund(ctx, m, p.ID, amount, "", "")
		detail = paygate.FormatAmount(amount, p.Currency) + " " + p.Currency.Code
		if rf != nil {
			detail += " " + rf.ID
		}
	}
	if err != nil {
		var perr *paygate.Error
		if errors.As(err, &perr) {
			d.renderConfirm(w, r, http.StatusConflict, perr.Message)
			return
		}
		d.internalError(w, r, err)
		return
	}
	if d.Audit != nil {
		if err := d.Audit.AppendAudit(ctx, d.auditEntry(r, u, "payment."+action, p.ID, detail)); err != nil {
			d.Logger.Error("audit", paygate.LogRequestID, requestID(ctx), paygate.LogError, err)
		}
	}
	http.Redirect(w, r, "/dashboard/payments/"+p.ID+"?done="+action, http.StatusSeeOther)
}
