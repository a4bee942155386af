package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// The Payments pages: the list with search, filters and keyset pages, and
// the CSV export of what the list selects (dash_csv.go).

const paymentsPerPage = 25

// paymentRow is one payment as the list shows it: last 4 only.
type paymentRow struct {
	ID, URL, Created, Status, StatusLabel, Amount, Card, OrderID, Email, Channel, Confirmation string
}

type paymentsData struct {
	Query, Status, Currency, Channel, From, To string
	Statuses                                   []paygate.PaymentStatus
	Channels                                   []paygate.Channel
	Rows                                       []paymentRow
	Next, Prev, CSV                            string
	Error                                      string
	Filtered                                   bool
}

// paymentFilter reads the list's query string; the error is a sentence for
// the page.
func (d *Dashboard) paymentFilter(r *http.Request, m *paygate.Merchant) (paygate.PaymentFilter, paymentsData, string) {
	q := r.URL.Query()
	data := paymentsData{Query: paygate.RedactPANs(strings.TrimSpace(q.Get("q"))), Status: q.Get("status"),
		Currency: strings.ToUpper(q.Get("currency")), Channel: q.Get("channel"), From: q.Get("from"), To: q.Get("to"),
		Statuses: paygate.PaymentStatuses, Channels: paygate.Channels}
	// A card number typed in the search box is never searched for (nor
	// echoed): the masked text matches nothing.
	f := paygate.PaymentFilter{MerchantID: m.ID, Query: data.Query, Status: paygate.PaymentStatus(data.Status),
		Currency: data.Currency, Channel: paygate.Channel(data.Channel), Limit: paymentsPerPage,
		StartingAfter: q.Get("after"), EndingBefore: q.Get("before")}
	loc := merchantLocation(m)
	if data.From != "" {
		t, err := time.ParseInLocation("2006-01-02", data.From, loc)
		if err != nil {
			return f, data, "The start date must be a date such as 2026-03-01."
		}
		f.CreatedGTE = t
	}
	if data.To != "" {
		t, err := time.ParseInLocation("2006-01-02", data.To, loc)
		if err != nil {
			return f, data, "The end date must be a date such as 2026-03-31."
		}
		f.CreatedLTE = t.AddDate(0, 0, 1).Add(-time.Microsecond)
	}
	data.Filtered = data.Query != "" || data.Status != "" || data.Currency != "" || data.Channel != "" || data.From != "" || data.To != ""
	return f, data, ""
}

// merchantLocation is the merchant's time zone (UTC if it has none).
func merchantLocation(m *paygate.Merchant) *time.Location {
	if m.TimeZone != "" {
		if l, err := time.LoadLocation(m.TimeZone); err == nil {
			return l
		}
	}
	return time.UTC
}

func (d *Dashboard) paymentsPage(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	f, data, msg := d.paymentFilter(r, m)
	if msg != "" {
		data.Error = msg
		d.render(w, r, http.StatusUnprocessableEntity, "payments", data)
		return
	}
	list, more, err := d.Gateway.Payments.Payments(r.Context(), f)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	loc := merchantLocation(m)
	for _, p := range list {
		data.Rows = append(data.Rows, rowOf(p, loc))
	}
	// Keyset pages: older after the last row, newer before the first.
	base := r.URL.Query()
	base.Del("after")
	base.Del("before")
	page := func(key, id string) string {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		v.Set(key, id)
		return "/dashboard/payments?" + v.Encode()
	}
	if len(list) > 0 {
		backward := f.EndingBefore != "" && f.StartingAfter == ""
		if more || backward {
			data.Next = page("after", list[len(list)-1].ID)
		}
		if (backward && more) || f.StartingAfter != "" {
			data.Prev = page("before", list[0].ID)
		}
	}
	data.CSV = "/dashboard/payments.csv?" + base.Encode()
	d.render(w, r, http.StatusOK, "payments", data)
}

func rowOf(p *paygate.Payment, loc *time.Location) paymentRow {
	return paymentRow{ID: p.ID, URL: "/dashboard/payments/" + p.ID, Created: p.CreatedAt.In(loc).Format("2006-01-02 15:04"),
		Status: string(p.Status), StatusLabel: statusLabel(p.Status), Amount: formatMoney(p.Amount, p.Currency).Text(),
		Card: cardLabel(p.Card), OrderID: p.OrderID, Email: p.ReceiptEmail, Channel: p.Channel.Label(),
		Confirmation: p.ConfirmationNumber}
}

// cardLabel is a card as every dashboard page shows it: brand and last 4.
func cardLabel(c paygate.CardSummary) string {
	brand := c.Brand
	if brand == "" {
		brand = "Card"
	}
	return brand + " •••• " + c.Last4
}

func statusLabel(s paygate.PaymentStatus) string {
	return strings.ToUpper(string(s[:1])) + strings.ReplaceAll(string(s[1:]), "_", " ")
}
