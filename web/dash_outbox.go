package web

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/paygate/paygate"
)

// The Outbox: the merchant's e-mail confirmations newest first (status,
// recipient, subject, attempts, last error) and one mail's page with its
// text part and its HTML part. The HTML part is shown as escaped source,
// never rendered: the dashboard's CSP allows no frame (srcdoc included),
// and a mail's HTML on the dashboard's origin would be markup we did not
// write for it. Mail is paygate.Gateway.ListMail / MailOf, as the API's.

const mailsPerPage = 25

var mailStatuses = []string{paygate.MailQueued, paygate.MailSent, paygate.MailFailed, paygate.MailKept}

type mailRow struct {
	ID, URL, Created, Status, StatusLabel, To, Recipient, Subject, Attempts, LastError, Next string
}

type outboxData struct {
	Rows     []mailRow
	Status   string
	Statuses []string
	Next     string
	First    string
	Error    string
	NoStore  bool
}

func mailRowOf(x *paygate.Mail, loc *time.Location) mailRow {
	row := mailRow{ID: x.ID, URL: "/dashboard/outbox/" + x.ID, Created: shortWhen(x.CreatedAt, loc), Status: x.Status,
		StatusLabel: statusLabel(paygate.PaymentStatus(x.Status)), To: x.To, Recipient: x.Recipient, Subject: x.Subject,
		Attempts: itoa(x.Attempts), LastError: paygate.RedactPANs(x.LastError)}
	if x.Status == paygate.MailQueued && !x.NextAt.IsZero() {
		row.Next = when(x.NextAt, loc)
	}
	return row
}

func (d *Dashboard) outboxPage(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	q := r.URL.Query()
	data := outboxData{Status: q.Get("status"), Statuses: mailStatuses}
	if d.Gateway.Mail == nil {
		data.NoStore = true
		d.render(w, r, http.StatusOK, "outbox", data)
		return
	}
	if data.Status != "" && !slices.Contains(mailStatuses, data.Status) {
		data.Error = "Choose a status from the list."
		d.render(w, r, http.StatusUnprocessableEntity, "outbox", data)
		return
	}
	f := paygate.MailFilter{Status: data.Status, StartingAfter: q.Get("after"), Limit: mailsPerPage}
	list, more, err := d.Gateway.ListMail(r.Context(), m, f)
	if paygate.ErrorCode(err) == paygate.EMALFORMED {
		data.Error = "That page of the outbox no longer exists."
		d.render(w, r, http.StatusNotFound, "outbox", data)
		return
	}
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	for _, x := range list {
		data.Rows = append(data.Rows, mailRowOf(x, merchantLocation(m)))
	}
	if more && len(list) > 0 {
		next := url.Values{"after": {list[len(list)-1].ID}}
		if data.Status != "" {
			next.Set("status", data.Status)
		}
		data.Next = "/dashboard/outbox?" + next.Encode()
	}
	if f.StartingAfter != "" {
		first := url.Values{}
		if data.Status != "" {
			first.Set("status", data.Status)
		}
		data.First = "/dashboard/outbox?" + first.Encode()
	}
	d.render(w, r, http.StatusOK, "outbox", data)
}

type mailData struct {
	Row                 mailRow
	M                   *paygate.Mail
	Kind, Sent, Payment string
	Text, HTML          string
}

var mailKindLabels = map[string]string{
	paygate.MailReceipt:      "Receipt",
	paygate.MailRefundNotice: "Refund notice",
	paygate.MailVoidNotice:   "Void notice",
	paygate.MailMerchantCopy: "Merchant's copy",
}

func (d *Dashboard) mailPage(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	if d.Gateway.Mail == nil {
		d.notFound(w, r)
		return
	}
	x, err := d.Gateway.MailOf(r.Context(), m, r.PathValue("id"))
	if paygate.ErrorCode(err) == paygate.ENOTFOUND {
		d.message(w, r, http.StatusNotFound, "Mail not found", "There is no such mail in this account's outbox.")
		return
	}
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	kind := mailKindLabels[x.Kind]
	if kind == "" {
		kind = x.Kind
	}
	data := mailData{Row: mailRowOf(x, merchantLocation(m)), M: x, Kind: kind, Sent: when(x.SentAt, merchantLocation(m)),
		Payment: "/dashboard/payments/" + x.PaymentID,
		// Mail carries the last 4 only; redacting costs little and holds
		// if a merchant's name or an order id ever carried a number.
		Text: paygate.RedactPANs(x.Text), HTML: paygate.RedactPANs(x.HTML)}
	d.render(w, r, http.StatusOK, "mail", data)
}
