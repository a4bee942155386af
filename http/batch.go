package http

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/paygate/paygate"
)

// batchJSON is a settlement batch: a merchant's transactions of one
// currency settled together. Amounts are in minor units.
type batchJSON struct {
	ID            string                    `json:"id"`
	Object        string                    `json:"object"`
	Number        int64                     `json:"number"`
	Currency      string                    `json:"currency"`
	Status        string                    `json:"status"`
	Step          string                    `json:"step,omitempty"` // the last close step done
	DebitsCount   int64                     `json:"debits_count"`
	DebitsAmount  int64                     `json:"debits_amount"`
	CreditsCount  int64                     `json:"credits_count"`
	CreditsAmount int64                     `json:"credits_amount"`
	Net           int64                     `json:"net"`
	ResponseCode  string                    `json:"acquirer_response_code,omitempty"`
	Differences   []paygate.BatchDifference `json:"differences"`
	Resolution    string                    `json:"resolution,omitempty"`
	OpenedAt      *time.Time                `json:"opened_at,omitempty"`
	CutoffAt      *time.Time                `json:"cutoff_at,omitempty"`
	ClosedAt      *time.Time                `json:"closed_at,omitempty"`
	SettledAt     *time.Time                `json:"settled_at,omitempty"`
	// Items: on GET /v1/batches/{id}, a page of its transactions.
	Items *listJSON `json:"items,omitempty"`
	// Deposit: the deposit a close, resend or accept just recorded.
	Deposit *depositJSON `json:"deposit,omitempty"`
}

func newBatchJSON(b *paygate.Batch) batchJSON {
	out := batchJSON{ID: b.ID, Object: "batch", Number: b.Number, Currency: b.Currency.Code, Status: string(b.Status), Step: b.Step,
		DebitsCount: b.Totals.DebitsCount, DebitsAmount: b.Totals.DebitsAmount, CreditsCount: b.Totals.CreditsCount,
		CreditsAmount: b.Totals.CreditsAmount, Net: b.Totals.Net(), ResponseCode: b.ResponseCode, Differences: b.Differences,
		Resolution: b.Resolution, OpenedAt: timePtr(b.OpenedAt), CutoffAt: timePtr(b.CutoffAt), ClosedAt: timePtr(b.ClosedAt),
		SettledAt: timePtr(b.SettledAt)}
	if out.Differences == nil {
		out.Differences = []paygate.BatchDifference{}
	}
	return out
}

// batchItemJSON is one transaction of a batch; of the card, only its brand
// and last four digits.
type batchItemJSON struct {
	Object     string     `json:"object"`
	Kind       string     `json:"kind"` // "debit" (a sale or capture) or "credit" (a refund)
	PaymentID  string     `json:"payment_id"`
	RefundID   string     `json:"refund_id,omitempty"`
	RRN        string     `json:"rrn"`
	Amount     int64      `json:"amount"`
	Currency   string     `json:"currency"`
	CardBrand  string     `json:"card_brand"`
	CardLast4  string     `json:"card_last4"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
}

func newBatchItemJSON(it *paygate.BatchItem) batchItemJSON {
	return batchItemJSON{Object: "batch_item", Kind: it.Kind, PaymentID: it.PaymentID, RefundID: it.RefundID, RRN: it.RRN,
		Amount: it.Amount, Currency: it.Currency.Code, CardBrand: it.CardBrand, CardLast4: it.CardLast4, ApprovedAt: timePtr(it.At)}
}

// depositJSON is what the acquirer pays for a settled batch, in minor
// units: net = gross − refunds − fees.
type depositJSON struct {
	ID          string     `json:"id"`
	Object      string     `json:"object"`
	BatchID     string     `json:"batch_id"`
	Currency    string     `json:"currency"`
	Gross       int64      `json:"gross"`
	Refunds     int64      `json:"refunds"`
	Fees        int64      `json:"fees"`
	Net         int64      `json:"net"`
	FundingDate string     `json:"funding_date"`
	Status      string     `json:"status"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	// FundingAt is when the deposit is (or was) paid: the start of
	// funding_date in the merchant's time zone.
	FundingAt *time.Time `json:"funding_at,omitempty"`
}

func newDepositJSON(d *paygate.Deposit) *depositJSON {
	if d == nil {
		return nil
	}
	return &depositJSON{ID: d.ID, Object: "deposit", BatchID: d.BatchID, Currency: d.Currency.Code, Gross: d.Gross, Refunds: d.Refunds,
		Fees: d.Fees, Net: d.Net, FundingDate: d.FundingDate, Status: d.Status, CreatedAt: timePtr(d.CreatedAt), PaidAt: timePtr(d.PaidAt),
		FundingAt: timePtr(d.FundingAt)}
}

// batchListParams are the query parameters of GET /v1/batches (and
// /v1/deposits).
var batchListParams = []string{"limit", "starting_after", "status", "currency"}

// batchItemParams are the query parameters of GET /v1/batches/{id}: a page
// of its items, by RRN.
var batchItemParams = []string{"items_limit", "items_starting_after"}

var (
	batchStatuses   = []string{string(paygate.BatchOpen), string(paygate.BatchClosing), string(paygate.BatchSettled), string(paygate.BatchOutOfBalance)}
	depositStatuses = []string{paygate.DepositPending, paygate.DepositPaid}
)

// batchFilter reads a listing's query parameters.
func batchFilter(r *http.Request, m *paygate.Merchant, statuses []string) (paygate.BatchFilter, error) {
	q := r.URL.Query()
	for _, name := range batchListParams {
		if q.Has(name) && q.Get(name) == "" {
			return paygate.BatchFilter{}, paygate.ParamErrorf(paygate.EMALFORMED, name, "Parameter %q is empty; leave it out not to filter by it.", name)
		}
	}
	f := paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchStatus(q.Get("status")), StartingAfter: q.Get("starting_after"), Limit: 10}
	if f.Status != "" && !slices.Contains(statuses, string(f.Status)) {
		return f, paygate.ParamErrorf(paygate.EMALFORMED, "status", "Status must be one of %v.", statuses)
	}
	if c := q.Get("currency"); c != "" {
		cur, ok := paygate.LookupCurrency(c)
		if !ok {
			return f, paygate.ParamErrorf(paygate.EMALFORMED, "currency", "Currency must be an ISO 4217 code such as USD.")
		}
		f.Currency = cur.Code
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return f, paygate.ParamErrorf(paygate.EMALFORMED, "limit", "Limit must be an integer between 1 and 100.")
		}
		f.Limit = n
	}
	return f, nil
}

func (s *Server) listBatches(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	f, err := batchFilter(r, m, batchStatuses)
	if err != nil {
		return nil, err
	}
	list, more, err := s.Gateway.Batches.Batches(r.Context(), f)
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	data := make([]batchJSON, 0, len(list))
	for _, b := range list {
		if err := s.Gateway.OpenBatchTotals(r.Context(), b); err != nil {
			return nil, err
		}
		data = append(data, newBatchJSON(b))
	}
	return listJSON{Object: "list", Data: data, HasMore: more}, nil
}

func (s *Server) getBatch(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	q := r.URL.Query()
	limit := 100
	if v := q.Get("items_limit"); q.Has("items_limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, paygate.ParamErrorf(paygate.EMALFORMED, "items_limit", "Items limit must be an integer between 1 and 1000.")
		}
		limit = n
	}
	b, err := s.Gateway.Batch(r.Context(), m, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	items, err := s.Gateway.Batches.BatchItems(r.Context(), b.ID, q.Get("items_starting_after"), limit+1)
	if err != nil {
		return nil, fmt.Errorf("items of batch %s: %w", b.ID, err)
	}
	page := listJSON{Object: "list", HasMore: len(items) > limit}
	data := make([]batchItemJSON, 0, len(items))
	for i, it := range items {
		if i == limit {
			break
		}
		data = append(data, newBatchItemJSON(it))
	}
	page.Data = data
	out := newBatchJSON(b)
	out.Items = &page
	return out, nil
}

// closed renders the batch a close, resend or accept left, with the
// deposit it recorded.
func closed(b *paygate.Batch, d *paygate.Deposit, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out := newBatchJSON(b)
	out.Deposit = newDepositJSON(d)
	return out, nil
}

// closeBatch serves POST /v1/batches/{id}/close: closes the batch now (or
// resumes its close) and answers with it as the close left it.
func (s *Server) closeBatch(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	if err := decode(body, &struct{}{}, true); err != nil {
		return nil, err
	}
	return closed(s.Gateway.CloseBatch(r.Context(), m, r.PathValue("id")))
}

// resendBatch serves POST /v1/batches/{id}/resend: reconciles a batch out
// of balance again.
func (s *Server) resendBatch(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	if err := decode(body, &struct{}{}, true); err != nil {
		return nil, err
	}
	return closed(s.Gateway.ResendBatch(r.Context(), m, r.PathValue("id")))
}

// acceptBatch serves POST /v1/batches/{id}/accept {"reason"}: settles a
// batch out of balance as the gateway counted it, with the reason recorded.
func (s *Server) acceptBatch(r *http.Request, m *paygate.Merchant, body []byte) (any, error) {
	var req struct {
		Reason *string `json:"reason"`
	}
	if err := decode(body, &req, true); err != nil {
		return nil, err
	}
	if req.Reason == nil {
		return nil, paygate.ParamErrorf(paygate.EMISSING, "reason", "A reason is required to accept a batch out of balance.")
	}
	return closed(s.Gateway.AcceptBatch(r.Context(), m, r.PathValue("id"), *req.Reason))
}

func (s *Server) listDeposits(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	f, err := batchFilter(r, m, depositStatuses)
	if err != nil {
		return nil, err
	}
	list, more, err := s.Gateway.Batches.Deposits(r.Context(), f)
	if err != nil {
		return nil, fmt.Errorf("list deposits: %w", err)
	}
	data := make([]*depositJSON, 0, len(list))
	for _, d := range list {
		data = append(data, newDepositJSON(d))
	}
	return listJSON{Object: "list", Data: data, HasMore: more}, nil
}

func (s *Server) getDeposit(r *http.Request, m *paygate.Merchant, _ []byte) (any, error) {
	d, err := s.Gateway.Batches.Deposit(r.Context(), m.ID, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return newDepositJSON(d), nil
}

// csvFunc prepares a CSV download: its file name, and rows writing its
// rows (the header first) once the response has begun. The files
// themselves are the domain's (statement.go), shared with the dashboard.
type csvFunc func(r *http.Request, m *paygate.Merchant) (name string, rows paygate.CSVRows, err error)

// download serves a CSV file: authenticated as the API is; an error found
// before the first row is a JSON error, one after it ends the file early
// (and is logged).
func (s *Server) download(h csvFunc, query ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, _, err := s.authenticate(w, r)
		if err == nil {
			err = checkRequest(r, query)
		}
		var name string
		var rows paygate.CSVRows
		if err == nil {
			name, rows, err = h(r, m)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		hd := w.Header()
		hd.Set("Content-Type", "text/csv; charset=utf-8")
		hd.Set("Content-Disposition", `attachment; filename="`+name+`"`)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		cw := csv.NewWriter(w)
		cw.UseCRLF = true // RFC 4180, as spreadsheets expect
		err = rows(cw.Write)
		cw.Flush()
		if err == nil {
			err = cw.Error()
		}
		if err != nil {
			s.Logger.Error("csv download failed", paygate.LogRequestID, requestID(r.Context()), paygate.LogError, err.Error())
		}
	}
}

// exportBatch serves GET /v1/batches/{id}/export.csv: the batch's
// transactions, amounts in major units.
func (s *Server) exportBatch(r *http.Request, m *paygate.Merchant) (string, paygate.CSVRows, error) {
	return s.Gateway.BatchExport(r.Context(), m, r.PathValue("id"))
}

// depositStatement serves GET /v1/deposits/{id}/statement.csv: the
// deposit's batch item by item with the fee charged on each, then a totals
// line.
func (s *Server) depositStatement(r *http.Request, m *paygate.Merchant) (string, paygate.CSVRows, error) {
	return s.Gateway.DepositStatement(r.Context(), m, r.PathValue("id"))
}
