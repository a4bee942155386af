package web

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/paygate/paygate"
)

// The Batches pages: what the open batches hold so far (per currency), the
// batches newest first, and a batch's page with its totals, the
// acquirer's, the differences of a batch out of balance and its
// transactions a page at a time. Closing, resending and accepting a batch
// (dash_batch_action.go) are the admin's; the CSV files are the domain's
// (statement.go), as the API serves them.

const (
	batchesPerPage    = 25
	batchItemsPerPage = 50
)

// permSettle is what closing a batch, sending it again or accepting it
// out of balance needs: the merchant's settlement is an admin's matter.
const permSettle = paygate.PermSettings

type batchRow struct {
	ID, URL, Number, Currency, Status, StatusLabel string
	Opened, Cutoff, Closed, Settled                string
	Debits, Credits, Net                           string
	Differences                                    int
	CanClose                                       bool
}

type batchesData struct {
	Open     []batchRow
	Pending  []string // currencies with transactions waiting for a batch to open
	Rows     []batchRow
	Status   string
	Statuses []string
	Next     string
	First    string
	Error    string
}

var batchStatuses = []string{string(paygate.BatchOpen), string(paygate.BatchClosing), string(paygate.BatchSettled), string(paygate.BatchOutOfBalance)}

func batchRowOf(b *paygate.Batch, loc *time.Location, canClose bool) batchRow {
	c := b.Currency
	return batchRow{ID: b.ID, URL: "/dashboard/batches/" + b.ID, Number: itoa64(b.Number), Currency: c.Code,
		Status: string(b.Status), StatusLabel: batchStatusLabel(b.Status),
		Opened: shortWhen(b.OpenedAt, loc), Cutoff: shortWhen(b.CutoffAt, loc), Closed: shortWhen(b.ClosedAt, loc),
		Settled: shortWhen(b.SettledAt, loc),
		Debits:  itoa64(b.Totals.DebitsCount) + " · " + formatMoney(b.Totals.DebitsAmount, c).Text(),
		Credits: itoa64(b.Totals.CreditsCount) + " · " + formatMoney(b.Totals.CreditsAmount, c).Text(),
		Net:     formatMoney(b.Totals.Net(), c).Text(), Differences: len(b.Differences),
		CanClose: canClose && b.Status == paygate.BatchOpen}
}

func batchStatusLabel(s paygate.BatchStatus) string {
	if s == paygate.BatchOutOfBalance {
		return "Out of balance"
	}
	return statusLabel(paygate.PaymentStatus(s))
}

func shortWhen(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

func (d *Dashboard) batchesPage(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	ctx := r.Context()
	q := r.URL.Query()
	data := batchesData{Status: q.Get("status"), Statuses: batchStatuses}
	if data.Status != "" && !slices.Contains(batchStatuses, data.Status) {
		data.Error = "Choose a status from the list."
		d.render(w, r, http.StatusUnprocessableEntity, "batches", data)
		return
	}
	loc := merchantLocation(m)
	canClose := u.Role.Can(permSettle)

	// The open batches, with what they hold so far; and the currencies
	// whose transactions wait for the sweeper to open their batch.
	open, _, err := d.Gateway.Batches.Batches(ctx, paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchOpen, Limit: 100})
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	// One query for what every open batch holds (the currencies it
	// returns are also those with transactions waiting).
	totals, err := d.Gateway.Batches.OpenTotalsByCurrency(ctx, m.ID)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	openTotals := func(b *paygate.Batch) {
		if b.Status == paygate.BatchOpen {
			b.Totals = totals[b.Currency.Code]
		}
	}
	seen := map[string]bool{}
	for _, b := range open {
		openTotals(b)
		seen[b.Currency.Code] = true
		data.Open = append(data.Open, batchRowOf(b, loc, canClose))
	}
	for _, c := range slices.Sorted(maps.Keys(totals)) {
		if !seen[c] {
			data.Pending = append(data.Pending, c)
		}
	}

	f := paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchStatus(data.Status), StartingAfter: q.Get("after"), Limit: batchesPerPage}
	list, more, err := d.Gateway.Batches.Batches(ctx, f)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	for _, b := range list {
		openTotals(b)
		data.Rows = append(data.Rows, batchRowOf(b, loc, canClose))
	}
	v := url.Values{}
	if data.Status != "" {
		v.Set("status", data.Status)
	}
	if more && len(list) > 0 {
		next := url.Values{"after": {list[len(list)-1].ID}}
		if data.Status != "" {
			next.Set("status", data.Status)
		}
		data.Next = "/dashboard/batches?" + next.Encode()
	}
	if f.StartingAfter != "" {
		data.First = "/dashboard/batches?" + v.Encode()
	}
	d.render(w, r, http.StatusOK, "batches", data)
}

type batchItemRow struct {
	Kind, PaymentURL, PaymentID, RefundID, RRN, Approved, Amount, Card string
}

type differenceRow struct {
	RRN, Kind, Amount, AcquirerAmount string
}

type totalsRow struct {
	Label                                string
	Debits, Credits, DebitRev, CreditRev string
	Net                                  string
}

type batchData struct {
	B           *paygate.Batch
	Row         batchRow
	Step        string
	Totals      []totalsRow
	Differences []differenceRow
	Items       []batchItemRow
	Next, First string
	CSV         string
	CanClose    bool
	CanResolve  bool // resend, accept: out of balance
	Notice      string
	Warn        string
}

func totalsRowOf(label string, t paygate.Totals, c paygate.Currency) totalsRow {
	f := func(n, a int64) string { return itoa64(n) + " · " + formatMoney(a, c).Text() }
	return totalsRow{Label: label, Debits: f(t.DebitsCount, t.DebitsAmount), Credits: f(t.CreditsCount, t.CreditsAmount),
		DebitRev: f(t.DebitReversalsCount, t.DebitReversalsAmount), CreditRev: f(t.CreditReversalsCount, t.CreditReversalsAmount),
		Net: formatMoney(t.Net(), c).Text()}
}

var differenceLabels = map[string]string{
	"missing_at_acquirer": "Missing at the acquirer",
	"missing_at_gateway":  "Missing at the gateway",
	"amount_differs":      "Amounts differ",
	"funding_differs":     "Funding differs",
}

func (d *Dashboard) batchPage(w http.ResponseWriter, r *http.Request) {
	u, m := signedIn(r)
	b, ok := d.loadBatch(w, r, m)
	if !ok {
		return
	}
	ctx := r.Context()
	loc := merchantLocation(m)
	c := b.Currency
	admin := u.Role.Can(permSettle)
	data := batchData{B: b, Row: batchRowOf(b, loc, admin), Step: b.Step, CSV: "/dashboard/batches/" + b.ID + "/export.csv",
		CanClose: admin && b.Status == paygate.BatchOpen, CanResolve: admin && b.Status == paygate.BatchOutOfBalance}
	data.Totals = append(data.Totals, totalsRowOf("Gateway", b.Totals, c))
	if b.ResponseCode != "" {
		data.Totals = append(data.Totals, totalsRowOf("Acquirer", b.AcquirerTotals, c))
	}
	for _, df := range b.Differences {
		label := differenceLabels[df.Kind]
		if label == "" {
			label = df.Kind
		}
		data.Differences = append(data.Differences, differenceRow{RRN: df.RRN, Kind: label,
			Amount: formatMoney(df.Amount, c).Text(), AcquirerAmount: formatMoney(df.AcquirerAmount, c).Text()})
	}
	after := r.URL.Query().Get("after")
	items, err := d.Gateway.Batches.BatchItems(ctx, b.ID, after, batchItemsPerPage+1)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	if len(items) > batchItemsPerPage {
		items = items[:batchItemsPerPage]
		data.Next = "/dashboard/batches/" + b.ID + "?after=" + url.QueryEscape(items[len(items)-1].RRN)
	}
	if after != "" {
		data.First = "/dashboard/batches/" + b.ID
	}
	for _, it := range items {
		amount := it.Amount
		if it.Kind != "debit" {
			amount = -amount
		}
		data.Items = append(data.Items, batchItemRow{Kind: it.Kind, PaymentURL: "/dashboard/payments/" + it.PaymentID,
			PaymentID: it.PaymentID, RefundID: it.RefundID, RRN: it.RRN, Approved: shortWhen(it.At, loc),
			Amount: formatMoney(amount, c).Text(), Card: cardLabel(paygate.CardSummary{Brand: it.CardBrand, Last4: it.CardLast4})})
	}
	switch r.URL.Query().Get("done") {
	case "close", "resend", "accept":
		switch b.Status {
		case paygate.BatchSettled:
			data.Notice = "The batch is settled."
		case paygate.BatchOutOfBalance:
			data.Warn = "The batch is out of balance: the acquirer's totals differ from the gateway's."
		case paygate.BatchClosing:
			data.Warn = "The close has begun but the acquirer has not answered yet; it resumes by itself."
		}
	}
	d.render(w, r, http.StatusOK, "batch", data)
}

// loadBatch finds the merchant's batch of the path's {id} (an open one
// with its totals so far), or shows the 404 page.
func (d *Dashboard) loadBatch(w http.ResponseWriter, r *http.Request, m *paygate.Merchant) (*paygate.Batch, bool) {
	b, err := d.Gateway.Batch(r.Context(), m, r.PathValue("id"))
	if err != nil {
		d.settlementError(w, r, err)
		return nil, false
	}
	return b, true
}

// settlementError shows the page of an error of a batch or deposit: not
// found, a paygate.Error's sentence, or the internal error page.
func (d *Dashboard) settlementError(w http.ResponseWriter, r *http.Request, err error) {
	var perr *paygate.Error
	switch {
	case paygate.ErrorCode(err) == paygate.ENOTFOUND:
		d.message(w, r, http.StatusNotFound, "Not found", "There is no such batch or deposit in this account.")
	case errors.As(err, &perr):
		d.message(w, r, http.StatusConflict, "This could not be done", perr.Message)
	default:
		d.internalError(w, r, err)
	}
}

// batchCSV serves GET /dashboard/batches/{id}/export.csv.
func (d *Dashboard) batchCSV(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	name, rows, err := d.Gateway.BatchExport(r.Context(), m, r.PathValue("id"))
	d.settlementCSV(w, r, name, rows, err)
}
