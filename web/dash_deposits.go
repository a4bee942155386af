package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/paygate/paygate"
)

// The Deposits page: what the acquirer pays (or paid) for each settled
// batch, newest first: gross, refunds, fees, net, the funding date, its
// status, and each deposit's statement as CSV (paygate.DepositStatement).

const depositsPerPage = 25

type depositRow struct {
	ID, BatchURL, BatchID, Currency        string
	Gross, Refunds, Fees, Net, FundingDate string
	Status, StatusLabel, Paid              string
	Statement                              string
}

type depositsData struct {
	Rows     []depositRow
	Status   string
	Statuses []string
	Next     string
	First    string
	Error    string
}

var depositStatuses = []string{paygate.DepositPending, paygate.DepositPaid}

func (d *Dashboard) depositsPage(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	q := r.URL.Query()
	data := depositsData{Status: q.Get("status"), Statuses: depositStatuses}
	if data.Status != "" && !slices.Contains(depositStatuses, data.Status) {
		data.Error = "Choose a status from the list."
		d.render(w, r, http.StatusUnprocessableEntity, "deposits", data)
		return
	}
	f := paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchStatus(data.Status), StartingAfter: q.Get("after"), Limit: depositsPerPage}
	list, more, err := d.Gateway.Batches.Deposits(r.Context(), f)
	if err != nil {
		d.internalError(w, r, err)
		return
	}
	loc := merchantLocation(m)
	for _, dp := range list {
		c := dp.Currency
		data.Rows = append(data.Rows, depositRow{ID: dp.ID, BatchURL: "/dashboard/batches/" + dp.BatchID, BatchID: dp.BatchID,
			Currency: c.Code, Gross: formatMoney(dp.Gross, c).Text(), Refunds: formatMoney(dp.Refunds, c).Text(),
			Fees: formatMoney(dp.Fees, c).Text(), Net: formatMoney(dp.Net, c).Text(), FundingDate: dp.FundingDate,
			Status: dp.Status, StatusLabel: statusLabel(paygate.PaymentStatus(dp.Status)), Paid: shortWhen(dp.PaidAt, loc),
			Statement: "/dashboard/deposits/" + dp.ID + "/statement.csv"})
	}
	if more && len(list) > 0 {
		next := url.Values{"after": {list[len(list)-1].ID}}
		if data.Status != "" {
			next.Set("status", data.Status)
		}
		data.Next = "/dashboard/deposits?" + next.Encode()
	}
	if f.StartingAfter != "" {
		first := url.Values{}
		if data.Status != "" {
			first.Set("status", data.Status)
		}
		data.First = "/dashboard/deposits?" + first.Encode()
	}
	d.render(w, r, http.StatusOK, "deposits", data)
}

// depositCSV serves GET /dashboard/deposits/{id}/statement.csv.
func (d *Dashboard) depositCSV(w http.ResponseWriter, r *http.Request) {
	_, m := signedIn(r)
	name, rows, err := d.Gateway.DepositStatement(r.Context(), m, r.PathValue("id"))
	d.settlementCSV(w, r, name, rows, err)
}
