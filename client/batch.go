package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Batch statuses.
const (
	BatchOpen         = "open"
	BatchClosing      = "closing"
	BatchSettled      = "settled"
	BatchOutOfBalance = "out_of_balance"
)

// Batch is one of your settlement batches: your approved transactions of
// one currency, closed at your daily cut-off and settled together.
// Amounts are in minor units.
type Batch struct {
	ID            string `json:"id"`
	Object        string `json:"object"` // "batch"
	Number        int64  `json:"number"`
	Currency      string `json:"currency"`
	Status        string `json:"status"`
	Step          string `json:"step,omitempty"`
	DebitsCount   int64  `json:"debits_count"` // sales and captures
	DebitsAmount  int64  `json:"debits_amount"`
	CreditsCount  int64  `json:"credits_count"` // refunds
	CreditsAmount int64  `json:"credits_amount"`
	Net           int64  `json:"net"`
	// AcquirerResponseCode is the acquirer's answer to the batch's
	// reconciliation: "00" in balance, "95" out of balance.
	AcquirerResponseCode string `json:"acquirer_response_code,omitempty"`
	// Differences lists, for a batch out of balance, the transactions on
	// which the acquirer's records differ.
	Differences []BatchDifference `json:"differences"`
	Resolution  string            `json:"resolution,omitempty"` // why an operator accepted it out of balance
	OpenedAt    *time.Time        `json:"opened_at,omitempty"`
	CutoffAt    *time.Time        `json:"cutoff_at,omitempty"`
	ClosedAt    *time.Time        `json:"closed_at,omitempty"`
	SettledAt   *time.Time        `json:"settled_at,omitempty"`
	// Items is a page of the batch's transactions (GetBatch only).
	Items *BatchItemList `json:"items,omitempty"`
	// Deposit is the deposit that CloseBatch, ResendBatch or AcceptBatch
	// recorded, when it settled the batch.
	Deposit *Deposit `json:"deposit,omitempty"`
}

// BatchDifference is a transaction on which the gateway and the acquirer
// disagree.
type BatchDifference struct {
	RRN            string `json:"rrn"`
	Kind           string `json:"kind"` // "missing_at_acquirer", "missing_at_gateway", "amount_differs", "funding_differs"
	Amount         int64  `json:"amount"`
	AcquirerAmount int64  `json:"acquirer_amount"`
}

// BatchItem is one transaction of a batch.
type BatchItem struct {
	Kind       string     `json:"kind"` // "debit" (sale or capture) or "credit" (refund)
	PaymentID  string     `json:"payment_id"`
	RefundID   string     `json:"refund_id,omitempty"`
	RRN        string     `json:"rrn"`
	Amount     int64      `json:"amount"`
	Currency   string     `json:"currency"`
	CardBrand  string     `json:"card_brand"`
	CardLast4  string     `json:"card_last4"`
	ApprovedAt *time.Time `json:"approved_at,omitempty"`
}

// BatchItemList is a page of a batch's items.
type BatchItemList struct {
	Data    []*BatchItem `json:"data"`
	HasMore bool         `json:"has_more"`
}

// Deposit is what the acquirer pays you for a settled batch, in minor
// units: Net = Gross − Refunds − Fees, paid on FundingDate (YYYY-MM-DD).
type Deposit struct {
	ID          string     `json:"id"`
	Object      string     `json:"object"` // "deposit"
	BatchID     string     `json:"batch_id"`
	Currency    string     `json:"currency"`
	Gross       int64      `json:"gross"`
	Refunds     int64      `json:"refunds"`
	Fees        int64      `json:"fees"`
	Net         int64      `json:"net"`
	FundingDate string     `json:"funding_date"`
	Status      string     `json:"status"` // "pending" or "paid"
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
	// FundingAt is when it is paid: the start of FundingDate in the
	// merchant's time zone.
	FundingAt *time.Time `json:"funding_at,omitempty"`
}

// BatchListParams select batches (or deposits) to list, newest first.
type BatchListParams struct {
	Limit         int    // page size (1 to 100); zero means 10
	StartingAfter string // a batch (deposit) ID: list what comes after it
	Status        string // a batch (deposit) status
	Currency      string
}

func (p BatchListParams) query() url.Values {
	q := url.Values{}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	for k, v := range map[string]string{"starting_after": p.StartingAfter, "status": p.Status, "currency": p.Currency} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// BatchList is a page of batches.
type BatchList struct {
	Data    []*Batch `json:"data"`
	HasMore bool     `json:"has_more"`
}

// DepositList is a page of deposits.
type DepositList struct {
	Data    []*Deposit `json:"data"`
	HasMore bool       `json:"has_more"`
}

// idPath is the path of a batch ("batches") or deposit ("deposits").
func idPath(collection, id, action string) (string, error) {
	if id == "" {
		return "", fmt.Errorf("paygate: empty %s id", strings.TrimSuffix(strings.TrimSuffix(collection, "s"), "e"))
	}
	return "/v1/" + collection + "/" + url.PathEscape(id) + action, nil
}

// ListBatches returns one page of your batches.
func (c *Client) ListBatches(ctx context.Context, p BatchListParams) (*BatchList, error) {
	list := new(BatchList)
	if err := c.get(ctx, "/v1/batches", p.query(), list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetBatch returns a batch with a page of its items: up to itemsLimit (1
// to 1000; 0 means 100) after the item with RRN itemsAfter ("" from the
// first).
func (c *Client) GetBatch(ctx context.Context, id string, itemsLimit int, itemsAfter string) (*Batch, error) {
	path, err := idPath("batches", id, "")
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if itemsLimit > 0 {
		q.Set("items_limit", strconv.Itoa(itemsLimit))
	}
	if itemsAfter != "" {
		q.Set("items_starting_after", itemsAfter)
	}
	b := new(Batch)
	if err := c.get(ctx, path, q, b); err != nil {
		return nil, err
	}
	return b, nil
}

func (c *Client) batchAction(ctx context.Context, id, action string, body any) (*Batch, error) {
	path, err := idPath("batches", id, "/"+action)
	if err != nil {
		return nil, err
	}
	b := new(Batch)
	if err := c.post(ctx, path, body, "", b); err != nil {
		return nil, err
	}
	return b, nil
}

// CloseBatch closes a batch now rather than at your cut-off and settles it
// with the acquirer; it returns the batch as the close left it (settled,
// with its Deposit, or out of balance).
func (c *Client) CloseBatch(ctx context.Context, id string) (*Batch, error) {
	return c.batchAction(ctx, id, "close", nil)
}

// ResendBatch reconciles a batch out of balance with the acquirer again.
func (c *Client) ResendBatch(ctx context.Context, id string) (*Batch, error) {
	return c.batchAction(ctx, id, "resend", nil)
}

// AcceptBatch settles a batch out of balance as the gateway counted it,
// recording reason (required).
func (c *Client) AcceptBatch(ctx context.Context, id, reason string) (*Batch, error) {
	return c.batchAction(ctx, id, "accept", map[string]string{"reason": reason})
}

// ListDeposits returns one page of your deposits.
func (c *Client) ListDeposits(ctx context.Context, p BatchListParams) (*DepositList, error) {
	list := new(DepositList)
	if err := c.get(ctx, "/v1/deposits", p.query(), list); err != nil {
		return nil, err
	}
	return list, nil
}

// GetDeposit returns a deposit.
func (c *Client) GetDeposit(ctx context.Context, id string) (*Deposit, error) {
	path, err := idPath("deposits", id, "")
	if err != nil {
		return nil, err
	}
	d := new(Deposit)
	if err := c.get(ctx, path, nil, d); err != nil {
		return nil, err
	}
	return d, nil
}

// ExportBatch writes the batch's transactions to w as CSV (a header row,
// RFC 3339 times, amounts in major units).
func (c *Client) ExportBatch(ctx context.Context, id string, w io.Writer) error {
	path, err := idPath("batches", id, "/export.csv")
	if err != nil {
		return err
	}
	return c.download(ctx, path, w)
}

// DepositStatement writes the deposit's statement to w as CSV: each
// transaction with its fee, then a totals line.
func (c *Client) DepositStatement(ctx context.Context, id string, w io.Writer) error {
	path, err := idPath("deposits", id, "/statement.csv")
	if err != nil {
		return err
	}
	return c.download(ctx, path, w)
}

// download copies a file the API serves to w (one attempt: a failure after
// the first byte cannot be retried without writing twice).
func (c *Client) download(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.baseURL+path, nil)
	if err != nil {
		return fmt.Errorf("paygate: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+*c.key)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("paygate: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		return decodeError(resp, data)
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("paygate: read %s: %w", path, err)
	}
	return nil
}
