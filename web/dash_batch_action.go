package web

import (
	"errors"
	"net/http"
	"path"
	"strings"

	"github.com/paygate/paygate"
)

// Closing a batch now, sending a batch out of balance again, accepting it
// with a reason (admins): a GET asks to confirm, the POST does it through
// the domain (settle.go: CloseBatch, ResendBatch, AcceptBatch, the same
// methods as the API), writes the audit log, and returns to the batch.

type batchActionData struct {
	B                     *paygate.Batch
	Row                   batchRow
	Action, Verb, Heading string
	Text                  string
	Reason                bool // the form asks for a reason (accept)
	ReasonValue           string
	Error                 string
}

func batchActionOf(r *http.Request) string {
	switch a := path.Base(r.URL.Path); a {
	case "close", "resend", "accept":
		return a
	}
	return ""
}

func (d *Dashboard) batchConfirmPage(w http.ResponseWriter, r *http.Request) {
	d.renderBatchConfirm(w, r, http.StatusOK, "", "")
}

func (d *Dashboard) renderBatchConfirm(w http.ResponseWriter, r *http.Request, status int, reason, errMsg string) {
	_, m := signedIn(r)
	action := batchActionOf(r)
	if action == "" {
		d.notFound(w, r)
		return
	}
	b, ok := d.loadBatch(w, r, m)
	if !ok {
		return
	}
	data := batchActionData{B: b, Row: batchRowOf(b, merchantLocation(m), false), Action: action, ReasonValue: reason, Error: errMsg}
	switch action {
	case "close":
		data.Verb, data.Heading = "Close now", "Close this batch now?"
		data.Text = "The batch's " + data.Row.Debits + " in sales and " + data.Row.Credits +
			" in refunds are sent to the acquirer for settlement now rather than at the cut-off. Transactions approved from now on go to the next batch."
	case "resend":
		data.Verb, data.Heading = "Send again", "Send this batch to the acquirer again?"
		data.Text = "The batch's totals are reconciled with the acquirer again (and the batch uploaded if they still differ): use this once the acquirer has corrected its records."
	case "accept":
		data.Verb, data.Heading, data.Reason = "Accept", "Accept this batch as the gateway counted it?", true
		data.Text = "The batch is settled with the gateway's totals, " + data.Row.Net + " net, although the acquirer's differ. The reason is kept with the batch and in the audit log."
	}
	if status == http.StatusOK && !batchActionAllowed(b, action) {
		data.Error = "This batch is " + strings.ToLower(batchStatusLabel(b.Status)) + ": it cannot be " + map[string]string{
			"close": "closed", "resend": "sent again", "accept": "accepted"}[action] + "."
		status = http.StatusConflict
	}
	d.render(w, r, status, "batch_confirm", data)
}

// batchActionAllowed says whether the batch's state allows the action (the
// domain checks again, under its version).
func batchActionAllowed(b *paygate.Batch, action string) bool {
	if action == "close" {
		return b.Status == paygate.BatchOpen
	}
	return b.Status == paygate.BatchOutOfBalance
}

func (d *Dashboard) doBatchAction(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	action := batchActionOf(r)
	if action == "" {
		d.notFound(w, r)
		return
	}
	ctx := r.Context()
	id := r.PathValue("id")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var b *paygate.Batch
	var dep *paygate.Deposit
	var err error
	switch action {
	case "close":
		b, dep, err = d.Gateway.CloseBatch(ctx, m, id)
	case "resend":
		b, dep, err = d.Gateway.ResendBatch(ctx, m, id)
	case "accept":
		if reason == "" {
			d.renderBatchConfirm(w, r, http.StatusUnprocessableEntity, reason, "Give the reason for accepting the batch.")
			return
		}
		b, dep, err = d.Gateway.AcceptBatch(ctx, m, id, reason)
	}
	var perr *paygate.Error
	switch {
	case err == nil:
	case paygate.ErrorCode(err) == paygate.ENOTFOUND:
		d.settlementError(w, r, err)
		return
	case errors.As(err, &perr):
		d.renderBatchConfirm(w, r, http.StatusConflict, reason, perr.Message)
		return
	case b != nil && b.Status == paygate.BatchClosing:
		// The acquirer did not answer: the close stays claimed and is
		// resumed (by this or another node) once it is in doubt.
		d.Logger.Warn("batch close pending", paygate.LogRequestID, requestID(ctx), "batch_id", b.ID, paygate.LogError, err)
	default:
		d.internalError(w, r, err)
		return
	}
	detail := "status " + string(b.Status)
	if dep != nil {
		detail += ", deposit " + dep.ID + " " + paygate.FormatAmount(dep.Net, dep.Currency) + " " + dep.Currency.Code
	}
	if action == "accept" {
		detail += ", reason: " + reason
	}
	if d.Audit != nil {
		if err := d.Audit.AppendAudit(ctx, d.auditEntry(r, u, "batch."+action, b.ID, detail)); err != nil {
			d.Logger.Error("audit", paygate.LogRequestID, requestID(ctx), paygate.LogError, err)
		}
	}
	http.Redirect(w, r, "/dashboard/batches/"+b.ID+"?done="+action, http.StatusSeeOther)
}
