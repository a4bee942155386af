package web

import (
	"net/http"
	"strconv"

	"github.com/paygate/paygate"
)

// The Overview: the last 30 days of the merchant's days, per currency
// (approved volume and count, drawn as SVG bar charts with their figures
// as tables), the approval rate, the top decline reasons and what the open
// batches hold so far.

type overviewData struct {
	Days         int
	ApprovalRate string
	Approved     string
	Declined     string
	Charts       []currencyCharts
	Declines     []paygate.DeclineCount
	Open         []openBatchRow
}

type currencyCharts struct {
	Code          string
	Total, Count  string
	Volume, Daily barChart
}

type openBatchRow struct {
	Currency, Debits, Credits, Net string
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	ctx := r.Context()
	if d.Gateway.Payments == nil { // a dashboard without stores (tests of its shell)
		d.render(w, r, http.StatusOK, "overview", overviewData{Days: 30, ApprovalRate: "—"})
		return
	}
	o, err := d.Gateway.Overview(ctx, m, 30)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	rate := o.ApprovalRate()
	data := overviewData{Days: len(o.Days), Declines: o.Declines,
		ApprovalRate: strconv.FormatInt(rate/10, 10) + "." + strconv.FormatInt(rate%10, 10) + "%",
		Approved:     itoa64(o.Approved), Declined: itoa64(o.Declined)}
	if o.Approved+o.Declined == 0 {
		data.ApprovalRate = "—"
	}
	labels := make([]string, len(o.Days))
	for i, day := range o.Days {
		labels[i] = day.Format("Jan 2")
	}
	for _, s := range o.Currencies {
		c := s.Currency
		var count int64
		for _, n := range s.Count {
			count += n
		}
		total := formatMoney(s.Total, c).Text()
		data.Charts = append(data.Charts, currencyCharts{Code: c.Code, Total: total, Count: itoa64(count),
			Volume: barChart{ID: "vol-" + c.Code, Title: "Approved volume per day, " + c.Code,
				Desc:   "Approved payments in " + c.Code + " over the last " + itoa(len(o.Days)) + " days: " + total + " in all.",
				Labels: labels, Values: s.Volume, Format: func(v int64) string { return formatMoney(v, c).Text() }},
			Daily: barChart{ID: "cnt-" + c.Code, Title: "Approved payments per day, " + c.Code,
				Desc:   itoa64(count) + " approved payments in " + c.Code + " over the last " + itoa(len(o.Days)) + " days.",
				Labels: labels, Values: s.Count}})
	}
	if d.Gateway.Batches != nil {
		open, err := d.Gateway.Batches.OpenTotalsByCurrency(ctx, m.ID)
		if err != nil {
			d.internalError(w, r, err)
			return
		}
		for _, s := range o.Currencies {
			t := open[s.Currency.Code]
			data.Open = append(data.Open, openBatchRow{Currency: s.Currency.Code,
				Debits:  itoa64(t.DebitsCount) + " · " + formatMoney(t.DebitsAmount, s.Currency).Text(),
				Credits: itoa64(t.CreditsCount) + " · " + formatMoney(t.CreditsAmount, s.Currency).Text(),
				Net:     formatMoney(t.Net(), s.Currency).Text()})
		}
	}
	d.render(w, r, http.StatusOK, "overview", data)
}
