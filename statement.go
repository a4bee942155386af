package paygate

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// The settlement files a merchant downloads: a batch's transactions and a
// deposit's statement, as CSV rows. The JSON API (GET /v1/batches/{id}/
// export.csv, /v1/deposits/{id}/statement.csv) and the dashboard serve the
// same files from here; each only writes the rows out. Amounts are in
// major units; cards appear as brand and last 4.

// CSVRows writes a file's rows, the header first, with write; it reads the
// store a page at a time, so a long batch keeps memory flat. An error
// after the first row ends the file early.
type CSVRows func(write func([]string) error) error

// statementPage is how many batch items a file reads at a time.
const statementPage = 5000

// eachBatchItem calls fn with every item of the batch, in RRN order.
func (g *Gateway) eachBatchItem(ctx context.Context, batchID string, fn func(*BatchItem) error) error {
	after := ""
	for {
		items, err := g.Batches.BatchItems(ctx, batchID, after, statementPage)
		if err != nil {
			return fmt.Errorf("items of batch %s: %w", batchID, err)
		}
		for _, it := range items {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(items) < statementPage {
			return nil
		}
		after = items[len(items)-1].RRN
	}
}

// csvTime is a time in a CSV file: RFC 3339 in UTC ("" if none).
func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// BatchExport returns the file name and rows of one of the merchant's
// batches: its transactions (an open batch has none yet: they are claimed
// when it closes).
func (g *Gateway) BatchExport(ctx context.Context, m *Merchant, id string) (string, CSVRows, error) {
	b, err := g.Batch(ctx, m, id)
	if err != nil {
		return "", nil, err
	}
	name := fmt.Sprintf("batch-%d-%s-%s.csv", b.Number, b.Currency.Code, b.OpenedAt.UTC().Format(time.DateOnly))
	return name, func(write func([]string) error) error {
		if err := write([]string{"batch_id", "batch_number", "kind", "payment_id", "refund_id", "rrn", "approved_at",
			"currency", "amount", "card_brand", "card_last4"}); err != nil {
			return err
		}
		number := strconv.FormatInt(b.Number, 10)
		return g.eachBatchItem(ctx, b.ID, func(it *BatchItem) error {
			return write([]string{b.ID, number, it.Kind, it.PaymentID, it.RefundID, it.RRN, csvTime(it.At),
				it.Currency.Code, FormatAmount(it.Amount, b.Currency), it.CardBrand, it.CardLast4})
		})
	}, nil
}

// DepositStatement returns the file name and rows of one of the merchant's
// deposits: its batch item by item with the fee charged on each, then a
// totals line (kind "total"): the batch's net, the fees, the deposit's
// net. Amounts are signed: refunds negative. The fees are those of the
// schedule the deposit was computed with; items whose fees do not add up
// to the deposit's end the file with an error.
func (g *Gateway) DepositStatement(ctx context.Context, m *Merchant, id string) (string, CSVRows, error) {
	d, err := g.Batches.Deposit(ctx, m.ID, id)
	if err != nil {
		return "", nil, err
	}
	pricing := m.EffectivePricing()
	if d.Pricing != "" {
		if pricing, err = ParsePricing(d.Pricing); err != nil {
			return "", nil, fmt.Errorf("pricing of deposit %s: %w", d.ID, err)
		}
	}
	c := d.Currency
	name := fmt.Sprintf("deposit-%s-%s.csv", d.FundingDate, d.ID)
	return name, func(write func([]string) error) error {
		if err := write([]string{"deposit_id", "funding_date", "batch_id", "approved_at", "kind", "payment_id", "refund_id", "rrn",
			"card_brand", "card_last4", "currency", "amount", "fee", "net"}); err != nil {
			return err
		}
		var fees int64
		err := g.eachBatchItem(ctx, d.BatchID, func(it *BatchItem) error {
			amount := it.Amount
			if it.Kind != "debit" {
				amount = -amount
			}
			fee := pricing.Fee(it)
			fees += fee
			return write([]string{d.ID, d.FundingDate, d.BatchID, csvTime(it.At), it.Kind, it.PaymentID, it.RefundID, it.RRN,
				it.CardBrand, it.CardLast4, c.Code, FormatAmount(amount, c), FormatAmount(fee, c), FormatAmount(amount-fee, c)})
		})
		if err != nil {
			return err
		}
		if fees != d.Fees {
			return fmt.Errorf("statement of deposit %s: items' fees %d, deposit's %d", d.ID, fees, d.Fees)
		}
		return write([]string{d.ID, d.FundingDate, d.BatchID, "", "total", "", "", "", "", "", c.Code,
			FormatAmount(d.Gross-d.Refunds, c), FormatAmount(d.Fees, c), FormatAmount(d.Net, c)})
	}, nil
}
