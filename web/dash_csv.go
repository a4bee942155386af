package web

import (
	"encoding/csv"
	"net/http"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// paymentsCSV serves GET /dashboard/payments.csv: every payment the list's
// filters select (not only one page), newest first, a page at a time from
// the store so that memory stays flat. Cards appear as brand and last 4.
func (d *Dashboard) paymentsCSV(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	f, _, msg := d.paymentFilter(r, m)
	if msg != "" {
		d.message(w, r, http.StatusUnprocessableEntity, "The export could not be made", msg)
		return
	}
	f.StartingAfter, f.EndingBefore, f.Limit = "", "", 500
	list, more, err := d.Gateway.Payments.Payments(r.Context(), f)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="payments-`+d.now().Format("20060102-150405")+`.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "created_at", "status", "amount", "currency", "amount_captured", "amount_refunded", "brand", "last4",
		"order_id", "receipt_email", "confirmation_number", "channel", "auth_code", "decline_code"})
	for {
		for _, p := range list {
			cw.Write([]string{p.ID, p.CreatedAt.UTC().Format(time.RFC3339), string(p.Status),
				paygate.FormatAmount(p.Amount, p.Currency), p.Currency.Code,
				paygate.FormatAmount(p.AmountCaptured, p.Currency), paygate.FormatAmount(p.AmountRefunded, p.Currency),
				p.Card.Brand, p.Card.Last4, csvCell(p.OrderID), csvCell(p.ReceiptEmail), p.ConfirmationNumber,
				string(p.Channel), p.AuthCode, p.DeclineCode})
		}
		if !more || len(list) == 0 {
			break
		}
		f.StartingAfter = list[len(list)-1].ID
		if list, more, err = d.Gateway.Payments.Payments(r.Context(), f); err != nil {
			// The header is gone: end the file short, and say so in the log.
			d.Logger.Error("payments csv", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err)
			break
		}
	}
	cw.Flush()
}

// csvCell keeps text that a customer or merchant wrote from being read as
// a formula by a spreadsheet (CSV injection).
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// settlementCSV serves a settlement file of the domain (a batch's export,
// a deposit's statement: paygate.BatchExport, DepositStatement), written
// as the JSON API writes it (RFC 4180, CRLF). An error before the first
// row is a page; one after it ends the file early and is logged.
func (d *Dashboard) settlementCSV(w http.ResponseWriter, r *http.Request, name string, rows paygate.CSVRows, err error) {
	if err != nil {
		d.settlementError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	err = rows(cw.Write)
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		d.Logger.Error("settlement csv", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err)
	}
}
