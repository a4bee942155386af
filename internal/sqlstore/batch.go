package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/paygate/paygate"
)

// batches keeps settlement batches, their items and deposits.
type batches struct{ *store }

var _ paygate.BatchStore = batches{}

const batchColumns = `id, merchant_id, currency, number, status, step,
	debits_count, debits_amount, credits_count, credits_amount,
	debit_reversals_count, debit_reversals_amount, credit_reversals_count, credit_reversals_amount,
	acq_debits_count, acq_debits_amount, acq_credits_count, acq_credits_amount,
	acq_debit_reversals_count, acq_debit_reversals_amount, acq_credit_reversals_count, acq_credit_reversals_amount,
	response_code, differences, resolution, opened_at, cutoff_at, closed_at, settled_at, updated_at, version`

// batchMutable is what UpdateBatch and SettleBatch save.
const batchMutable = `status = ?, step = ?,
	debits_count = ?, debits_amount = ?, credits_count = ?, credits_amount = ?,
	debit_reversals_count = ?, debit_reversals_amount = ?, credit_reversals_count = ?, credit_reversals_amount = ?,
	acq_debits_count = ?, acq_debits_amount = ?, acq_credits_count = ?, acq_credits_amount = ?,
	acq_debit_reversals_count = ?, acq_debit_reversals_amount = ?, acq_credit_reversals_count = ?, acq_credit_reversals_amount = ?,
	response_code = ?, differences = ?, resolution = ?, cutoff_at = ?, closed_at = ?, settled_at = ?, updated_at = ?, version = version + 1`

func totalsArgs(t paygate.Totals) []any {
	return []any{t.DebitsCount, t.DebitsAmount, t.CreditsCount, t.CreditsAmount,
		t.DebitReversalsCount, t.DebitReversalsAmount, t.CreditReversalsCount, t.CreditReversalsAmount}
}

func totalsDest(t *paygate.Totals) []any {
	return []any{&t.DebitsCount, &t.DebitsAmount, &t.CreditsCount, &t.CreditsAmount,
		&t.DebitReversalsCount, &t.DebitReversalsAmount, &t.CreditReversalsCount, &t.CreditReversalsAmount}
}

func encodeDifferences(d []paygate.BatchDifference) string {
	if len(d) == 0 {
		return ""
	}
	b, err := json.Marshal(d)
	if err != nil {
		return ""
	}
	return string(b)
}

func batchMutableArgs(b *paygate.Batch) []any {
	args := []any{string(b.Status), b.Step}
	args = append(args, totalsArgs(b.Totals)...)
	args = append(args, totalsArgs(b.AcquirerTotals)...)
	return append(args, b.ResponseCode, encodeDifferences(b.Differences), b.Resolution, toTime(b.CutoffAt), toTime(b.ClosedAt), toTime(b.SettledAt), toTime(b.UpdatedAt))
}

func batchArgs(b *paygate.Batch) []any {
	args := []any{b.ID, b.MerchantID, b.Currency.Code, b.Number, string(b.Status), b.Step}
	args = append(args, totalsArgs(b.Totals)...)
	args = append(args, totalsArgs(b.AcquirerTotals)...)
	return append(args, b.ResponseCode, encodeDifferences(b.Differences), b.Resolution, toTime(b.OpenedAt), toTime(b.CutoffAt),
		toTime(b.ClosedAt), toTime(b.SettledAt), toTime(b.UpdatedAt), b.Version)
}

func scanBatch(row Row) (*paygate.Batch, error) {
	var b paygate.Batch
	var currency, status, diffs string
	var opened, cutoff, closed, settled, updated sql.NullInt64
	dest := []any{&b.ID, &b.MerchantID, &currency, &b.Number, &status, &b.Step}
	dest = append(dest, totalsDest(&b.Totals)...)
	dest = append(dest, totalsDest(&b.AcquirerTotals)...)
	dest = append(dest, &b.ResponseCode, &diffs, &b.Resolution, &opened, &cutoff, &closed, &settled, &updated, &b.Version)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	b.Currency, _ = paygate.LookupCurrency(currency)
	b.Status = paygate.BatchStatus(status)
	if diffs != "" {
		if err := json.Unmarshal([]byte(diffs), &b.Differences); err != nil {
			return nil, fmt.Errorf("decode differences of %s: %w", b.ID, err)
		}
	}
	b.OpenedAt, b.CutoffAt, b.ClosedAt = fromTime(opened), fromTime(cutoff), fromTime(closed)
	b.SettledAt, b.UpdatedAt = fromTime(settled), fromTime(updated)
	return &b, nil
}

var (
	batchInsert = `INSERT INTO batches (` + batchColumns + `) VALUES (` + placeholders(31) + `)`
	batchUpdate = `UPDATE batches SET ` + batchMutable + ` WHERE id = ? AND version = ?`
)

// OpenBatch returns the merchant's open batch of c, opening it (numbered
// after the merchant's last of c) if there is none.
func (s batches) OpenBatch(ctx context.Context, merchantID string, c paygate.Currency, now, cutoff time.Time) (*paygate.Batch, error) {
	for try := 0; ; try++ {
		b, err := scanBatch(s.queryRow(ctx, `SELECT `+batchColumns+` FROM batches WHERE merchant_id = ? AND currency = ? AND status = 'open'`,
			merchantID, c.Code))
		if err == nil {
			return b, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("select open batch: %w", err)
		}
		var last int64
		if err := s.queryRow(ctx, `SELECT coalesce(max(number), 0) FROM batches WHERE merchant_id = ? AND currency = ?`,
			merchantID, c.Code).Scan(&last); err != nil {
			return nil, fmt.Errorf("select last batch number: %w", err)
		}
		b = &paygate.Batch{ID: paygate.NewID("bat", now), MerchantID: merchantID, Currency: c, Number: last + 1,
			Status: paygate.BatchOpen, OpenedAt: now, CutoffAt: cutoff, UpdatedAt: now, Version: 1}
		err = s.db.Write(ctx, &Write{Key: "batches/" + merchantID, Stmts: []Stmt{s.stmt(s.unique("insert batch"), batchInsert, batchArgs(b)...)}})
		if errors.Is(err, paygate.ErrDuplicate) && try < 5 {
			continue // another opened it (or took the number): read it
		}
		if err != nil {
			return nil, err
		}
		return b, nil
	}
}

// Batch returns one of a merchant's batches.
func (s batches) Batch(ctx context.Context, merchantID, id string) (*paygate.Batch, error) {
	b, err := scanBatch(s.queryRow(ctx, `SELECT `+batchColumns+` FROM batches WHERE id = ? AND merchant_id = ?`, id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("batch", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select batch: %w", err)
	}
	return b, nil
}

// batchListing is a listing of a merchant's batches or deposits.
func batchListing(what, table, columns string, f paygate.BatchFilter) listing {
	return listing{what: what, table: table, columns: columns, merchantID: f.MerchantID, startingAfter: f.StartingAfter,
		limit: f.Limit, filters: []filter{{"status = ?", string(f.Status)}, {"currency = ?", f.Currency}}}
}

// Batches lists a merchant's batches, newest first, a page at a time.
func (s batches) Batches(ctx context.Context, f paygate.BatchFilter) ([]*paygate.Batch, bool, error) {
	return listPage(s.store, ctx, batchListing("batches", "batches", batchColumns, f), scanBatch)
}

// UpdateBatch saves b if it is still at b.Version, with the events its
// status reports (paygate.BatchEvents: out of balance).
func (s batches) UpdateBatch(ctx context.Context, b *paygate.Batch) error {
	stmts := []Stmt{s.stmt(changed("update batch", paygate.ErrVersionConflict), batchUpdate,
		append(batchMutableArgs(b), b.ID, b.Version)...)}
	stmts = append(stmts, s.eventStmts(paygate.BatchEvents(b, nil))...)
	if err := s.db.Write(ctx, &Write{Key: "batches/" + b.MerchantID, Stmts: stmts}); err != nil {
		return err
	}
	b.Version++
	return nil
}

// The claim of a close: every approved transaction of the merchant and
// currency approved before the close that no batch has. A claimed payment
// is stamped settled (it can no longer be voided) and its version bumped,
// so that a writer holding an older copy cannot undo the claim.
var (
	claimPayments = `UPDATE payments SET batch_id = ?, settled_at = ?, version = version + 1
	WHERE merchant_id = ? AND currency = ? AND batch_id IS NULL AND status IN ('captured', 'partially_refunded', 'refunded')
	AND captured_at < ?`
	claimRefunds = `UPDATE refunds SET batch_id = ?
	WHERE merchant_id = ? AND currency = ? AND batch_id IS NULL AND status = 'succeeded' AND updated_at < ?`
	// A batch's items are its payments (debits) and refunds (credits),
	// read from those rows by their batch_id: a captured payment's amount,
	// RRN, STAN, authorization code, card and capture time never change, so
	// what the close claimed is what an item shows for good. (Until
	// migration 0009 the claim copied each into a batch_items table too,
	// which doubled the cost of a close.)
	debitItems = `SELECT batch_id, rrn, 'debit' AS kind, id AS payment_id, '' AS refund_id, stan, auth_code, amount_captured AS amount,
	currency, brand AS card_brand, ` + cardTypeSQL("first6") + ` AS card_type, last4 AS card_last4, captured_at AS approved_at
	FROM payments WHERE batch_id = ?`
	creditItems = `SELECT r.batch_id, r.rrn, 'credit' AS kind, r.payment_id, r.id AS refund_id, r.stan, p.auth_code, r.amount,
	r.currency, p.brand AS card_brand, ` + cardTypeSQL("p.first6") + ` AS card_type, p.last4 AS card_last4, r.updated_at AS approved_at
	FROM refunds r JOIN payments p ON p.id = r.payment_id WHERE r.batch_id = ?`
)

// AssignBatch closes b and claims its transactions, in one transaction.
func (s batches) AssignBatch(ctx context.Context, b *paygate.Batch, next *paygate.Batch) error {
	closedAt := b.ClosedAt.UnixMicro()
	stmts := []Stmt{
		s.stmt(changed("close batch", paygate.ErrVersionConflict),
			`UPDATE batches SET status = 'closing', step = ?, closed_at = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ? AND status = 'open'`,
			paygate.StepAssigned, closedAt, toTime(b.UpdatedAt), b.ID, b.Version),
		s.stmt(failed("claim payments"), claimPayments, b.ID, closedAt, b.MerchantID, b.Currency.Code, closedAt),
		s.stmt(failed("claim refunds"), claimRefunds, b.ID, b.MerchantID, b.Currency.Code, closedAt),
		// The next batch: unless one is open already (another node's
		// OpenBatch got there first, between this close's claim and its
		// commit), which then is the next.
		s.stmt(failed("open next batch"), batchInsert+` ON CONFLICT DO NOTHING`, batchArgs(next)...),
	}
	var totals paygate.Totals
	sum := func(tx Tx) error {
		totals = paygate.Totals{}
		if err := tx.QueryRow(s.d.SQL(`SELECT count(*), coalesce(sum(amount_captured), 0) FROM payments WHERE batch_id = ?`), b.ID).
			Scan(&totals.DebitsCount, &totals.DebitsAmount); err != nil {
			return fmt.Errorf("sum batch debits: %w", err)
		}
		if err := tx.QueryRow(s.d.SQL(`SELECT count(*), coalesce(sum(amount), 0) FROM refunds WHERE batch_id = ?`), b.ID).
			Scan(&totals.CreditsCount, &totals.CreditsAmount); err != nil {
			return fmt.Errorf("sum batch credits: %w", err)
		}
		if _, err := tx.Exec(s.d.SQL(`UPDATE batches SET debits_count = ?, debits_amount = ?, credits_count = ?, credits_amount = ?
			WHERE id = ?`), totals.DebitsCount, totals.DebitsAmount, totals.CreditsCount, totals.CreditsAmount, b.ID); err != nil {
			return fmt.Errorf("save batch totals: %w", err)
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "batches/" + b.MerchantID, Stmts: stmts, Then: sum, Alone: true}); err != nil {
		return err
	}
	b.Status, b.Step, b.Totals = paygate.BatchClosing, paygate.StepAssigned, totals
	b.Version++
	return nil
}

// batchItemPage is a page of a batch's items after an RRN, by RRN: the
// first limit of its debits and of its credits (each by its (batch_id, rrn)
// index), merged.
var batchItemPage = `SELECT * FROM (SELECT * FROM (` + debitItems + ` AND rrn > ? ORDER BY rrn LIMIT ?) d
	UNION ALL SELECT * FROM (` + creditItems + ` AND r.rrn > ? ORDER BY r.rrn LIMIT ?) c) i ORDER BY rrn LIMIT ?`

func scanBatchItem(row Row) (*paygate.BatchItem, error) {
	var it paygate.BatchItem
	var currency string
	var at sql.NullInt64
	if err := row.Scan(&it.BatchID, &it.RRN, &it.Kind, &it.PaymentID, &it.RefundID, &it.STAN, &it.AuthCode, &it.Amount, &currency,
		&it.CardBrand, &it.CardType, &it.CardLast4, &at); err != nil {
		return nil, err
	}
	it.Currency, _ = paygate.LookupCurrency(currency)
	it.At = fromTime(at)
	return &it, nil
}

// BatchItems returns a page of a batch's items, by RRN.
func (s batches) BatchItems(ctx context.Context, batchID, afterRRN string, limit int) ([]*paygate.BatchItem, error) {
	return collect("batch items", scanBatchItem)(s.query(ctx, batchItemPage,
		batchID, afterRRN, limit, batchID, afterRRN, limit, limit))
}

const depositColumns = `id, batch_id, merchant_id, currency, gross, refunds, fees, net, funding_date, status, created_at, paid_at, pricing, funding_at`

func scanDeposit(row Row) (*paygate.Deposit, error) {
	var d paygate.Deposit
	var currency string
	var created, paid, funding sql.NullInt64
	if err := row.Scan(&d.ID, &d.BatchID, &d.MerchantID, &currency, &d.Gross, &d.Refunds, &d.Fees, &d.Net, &d.FundingDate, &d.Status,
		&created, &paid, &d.Pricing, &funding); err != nil {
		return nil, err
	}
	d.Currency, _ = paygate.LookupCurrency(currency)
	d.CreatedAt, d.PaidAt, d.FundingAt = fromTime(created), fromTime(paid), fromTime(funding)
	return &d, nil
}

// SettleBatch saves b, settled, with its deposit and the batch.settled
// event, in one transaction. (Its payments were stamped settled when the
// close claimed them.)
func (s batches) SettleBatch(ctx context.Context, b *paygate.Batch, d *paygate.Deposit) error {
	stmts := []Stmt{
		s.stmt(changed("settle batch", paygate.ErrVersionConflict), batchUpdate, append(batchMutableArgs(b), b.ID, b.Version)...),
		s.stmt(s.unique("insert deposit"), `INSERT INTO deposits (`+depositColumns+`) VALUES (`+placeholders(14)+`)`,
			d.ID, d.BatchID, d.MerchantID, d.Currency.Code, d.Gross, d.Refunds, d.Fees, d.Net, d.FundingDate, d.Status,
			toTime(d.CreatedAt), toTime(d.PaidAt), d.Pricing, toTime(d.FundingAt)),
	}
	stmts = append(stmts, s.eventStmts(paygate.BatchEvents(b, d))...)
	if err := s.db.Write(ctx, &Write{Key: "batches/" + b.MerchantID, Stmts: stmts}); err != nil {
		return err
	}
	b.Version++
	return nil
}

// DueBatches returns open batches past their cut-off and closing batches
// left unchanged since staleBefore.
func (s batches) DueBatches(ctx context.Context, now, staleBefore time.Time, limit int) ([]*paygate.Batch, error) {
	return collect("due batches", scanBatch)(s.query(ctx, `SELECT `+batchColumns+` FROM batches
		WHERE (status = 'open' AND cutoff_at <= ?) OR (status = 'closing' AND updated_at < ?) ORDER BY cutoff_at LIMIT ?`,
		now.UnixMicro(), staleBefore.UnixMicro(), limit))
}

// Deposit returns one of a merchant's deposits.
func (s batches) Deposit(ctx context.Context, merchantID, id string) (*paygate.Deposit, error) {
	d, err := scanDeposit(s.queryRow(ctx, `SELECT `+depositColumns+` FROM deposits WHERE id = ? AND merchant_id = ?`, id, merchantID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("deposit", id)
	}
	if err != nil {
		return nil, fmt.Errorf("select deposit: %w", err)
	}
	return d, nil
}

// Deposits lists a merchant's deposits, newest first, a page at a time
// (Status filters by the deposit's status).
func (s batches) Deposits(ctx context.Context, f paygate.BatchFilter) ([]*paygate.Deposit, bool, error) {
	return listPage(s.store, ctx, batchListing("deposits", "deposits", depositColumns, f), scanDeposit)
}

// PayDeposits marks the pending deposits funded by now paid, with a
// deposit.paid event each, in one transaction.
func (s batches) PayDeposits(ctx context.Context, now time.Time) ([]*paygate.Deposit, error) {
	var paid []*paygate.Deposit
	pay := func(tx Tx) error {
		paid = nil
		rows, err := tx.Query(s.d.SQL(`UPDATE deposits SET status = 'paid', paid_at = ?
			WHERE status = 'pending' AND funding_at <= ? RETURNING `+depositColumns), now.UnixMicro(), now.UnixMicro())
		if err != nil {
			return fmt.Errorf("pay deposits: %w", err)
		}
		for rows.Next() {
			d, err := scanDeposit(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("scan paid deposit: %w", err)
			}
			paid = append(paid, d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("pay deposits: %w", err)
		}
		for _, d := range paid {
			for _, st := range s.eventStmts(paygate.DepositEvents(d)) {
				if err := st.Check(tx.Exec(st.SQL, st.Args...)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := s.db.Write(ctx, &Write{Key: "deposits/", Then: pay, Alone: true}); err != nil {
		return nil, err
	}
	return paid, nil
}

// Unbatched returns the merchants and currencies with approved
// transactions in no batch. It reads one entry of the claim's partial
// indexes (payments_unbatched, refunds_unbatched) per merchant and
// currency, each query seeking past the last one found (the merchant's
// next currency, else the next merchant), rather than every unbatched
// transaction: the sweeper asks every second, and by a busy day's cut-off
// the open batches hold a day of sales. (A row value, (merchant_id,
// currency) > (?, ?), is not a seek in SQLite: it reads every entry of
// the last key.) With 100,000 unbatched payments in SQLite: 19 ms a call
// before, 0.05 ms now (sqlite's BenchmarkUnbatched). A query a key costs
// more than one read of every row when the keys are many and their rows
// few (5,000 merchants with 4 payments each: 200 ms against 10), so past
// unbatchedSeeks keys of a table it reads the rest of the table's keys in
// one query instead.
func (s batches) Unbatched(ctx context.Context, merchantID string) ([]paygate.BatchKey, error) {
	found := map[paygate.BatchKey]bool{}
	add := func(m, c string) {
		cur, _ := paygate.LookupCurrency(c)
		found[paygate.BatchKey{MerchantID: m, Currency: cur}] = true
	}
	for _, table := range []struct{ name, approved string }{
		{"payments", "status IN ('captured', 'partially_refunded', 'refunded')"},
		{"refunds", "status = 'succeeded'"},
	} {
		from := ` FROM ` + table.name + ` WHERE batch_id IS NULL AND ` + table.approved
		nextCurrency := `SELECT merchant_id, currency` + from + ` AND merchant_id = ? AND currency > ? ORDER BY currency LIMIT 1`
		nextMerchant := `SELECT merchant_id, currency` + from + ` AND merchant_id > ? ORDER BY merchant_id, currency LIMIT 1`
		// next returns the key q finds, or ok false if none.
		next := func(q string, args ...any) (m, c string, ok bool, err error) {
			err = s.queryRow(ctx, q, args...).Scan(&m, &c)
			if errors.Is(err, sql.ErrNoRows) {
				return "", "", false, nil
			}
			return m, c, err == nil, err
		}
		var (
			m, c string
			ok   bool
			err  error
		)
		if merchantID == "" {
			m, c, ok, err = next(nextMerchant, "")
		} else {
			m, c, ok, err = next(nextCurrency, merchantID, "")
		}
		for seeks := 1; ok && err == nil; seeks++ {
			add(m, c)
			if seeks == unbatchedSeeks {
				// Many keys: the rest in one read, from m on.
				q, args := `SELECT DISTINCT merchant_id, currency`+from+` AND merchant_id >= ?`, []any{m}
				if merchantID != "" {
					q, args = `SELECT DISTINCT merchant_id, currency`+from+` AND merchant_id = ?`, []any{merchantID}
				}
				var keys [][2]string
				keys, err = collect("the remaining keys", func(r Row) ([2]string, error) {
					var k [2]string
					return k, r.Scan(&k[0], &k[1])
				})(s.query(ctx, q, args...))
				for _, k := range keys {
					add(k[0], k[1])
				}
				break
			}
			last := m
			if m, c, ok, err = next(nextCurrency, m, c); !ok && err == nil && merchantID == "" {
				m, c, ok, err = next(nextMerchant, last)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("unbatched currencies: %w", err)
		}
	}
	keys := make([]paygate.BatchKey, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b paygate.BatchKey) int {
		return cmp.Or(strings.Compare(a.MerchantID, b.MerchantID), strings.Compare(a.Currency.Code, b.Currency.Code))
	})
	return keys, nil
}

// unbatchedSeeks is how many keys of a table Unbatched seeks one by one
// before it reads the rest in one query.
const unbatchedSeeks = 32

// OpenTotals adds up the approved transactions of a merchant and currency
// that no batch has claimed: what its open batch holds so far.
func (s batches) OpenTotals(ctx context.Context, merchantID string, c paygate.Currency) (paygate.Totals, error) {
	var t paygate.Totals
	if err := s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(amount_captured), 0) FROM payments
		WHERE merchant_id = ? AND currency = ? AND batch_id IS NULL AND status IN ('captured', 'partially_refunded', 'refunded')`,
		merchantID, c.Code).Scan(&t.DebitsCount, &t.DebitsAmount); err != nil {
		return t, fmt.Errorf("open batch debits: %w", err)
	}
	if err := s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(amount), 0) FROM refunds
		WHERE merchant_id = ? AND currency = ? AND batch_id IS NULL AND status = 'succeeded'`,
		merchantID, c.Code).Scan(&t.CreditsCount, &t.CreditsAmount); err != nil {
		return t, fmt.Errorf("open batch credits: %w", err)
	}
	return t, nil
}

// OpenTotalsByCurrency is OpenTotals of all the merchant's currencies in
// one query: one pass over its unbatched payments and refunds (the
// partial indexes payments_unbatched and refunds_unbatched), where the
// dashboard asked once per currency and again for Unbatched.
func (s batches) OpenTotalsByCurrency(ctx context.Context, merchantID string) (map[string]paygate.Totals, error) {
	type sum struct {
		credit      bool
		currency    string
		count, amnt int64
	}
	sums, err := collect("open batch totals", func(r Row) (sum, error) {
		var x sum
		var kind int
		err := r.Scan(&kind, &x.currency, &x.count, &x.amnt)
		x.credit = kind == 1
		return x, err
	})(s.query(ctx, `SELECT 0, currency, COUNT(*), CAST(COALESCE(SUM(amount_captured), 0) AS BIGINT) FROM payments
		WHERE merchant_id = ? AND batch_id IS NULL AND status IN ('captured', 'partially_refunded', 'refunded') GROUP BY currency
	UNION ALL SELECT 1, currency, COUNT(*), CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refunds
		WHERE merchant_id = ? AND batch_id IS NULL AND status = 'succeeded' GROUP BY currency`, merchantID, merchantID))
	if err != nil {
		return nil, err
	}
	totals := map[string]paygate.Totals{}
	for _, x := range sums {
		t := totals[x.currency]
		if x.credit {
			t.CreditsCount, t.CreditsAmount = x.count, x.amnt
		} else {
			t.DebitsCount, t.DebitsAmount = x.count, x.amnt
		}
		totals[x.currency] = t
	}
	return totals, nil
}

// BatchFees adds up p.Fee over a batch's items in SQL: integer arithmetic
// as Pricing.Fee does it (percentOf: (amount × num + den/2) / den, per
// item), refunds free, the interchange of interchange-plus by a CASE built
// from paygate.InterchangeTable (the exact brand and type, else the
// brand's credit row, else the last row).
func (s batches) BatchFees(ctx context.Context, batchID string, p paygate.Pricing) (int64, error) {
	var fees int64
	if err := s.queryRow(ctx, `SELECT CAST(coalesce(sum(`+feeSQL(p.Kind)+`), 0) AS BIGINT) FROM (`+debitItems+`) i`,
		p.Percent, p.Fixed, batchID).Scan(&fees); err != nil {
		return 0, fmt.Errorf("sum batch fees: %w", err)
	}
	return fees, nil
}

// feeSQL is Pricing.Fee of a debit item, for pricing of the kind, as an SQL
// expression over a batch's debit items with two parameters: the percent (basis
// points) and the fixed fee. (The query depends on the kind only.)
func feeSQL(kind string) string {
	percent := func(num, den, fixed int64) string {
		return fmt.Sprintf("(amount * %d + %d) / %d + %d", num, den/2, den, fixed)
	}
	fee := "(amount * ? + 5000) / 10000 + ?"
	if kind != paygate.PricingInterchangePlus {
		return fee
	}
	quote := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	var c strings.Builder
	c.WriteString("CASE")
	for _, r := range paygate.InterchangeTable {
		fmt.Fprintf(&c, " WHEN card_brand = %s AND card_type = %s THEN %s", quote(r.Brand), quote(r.CardType), percent(r.Rate, 1_000_000, r.Fixed))
	}
	for _, r := range paygate.InterchangeTable {
		if r.CardType == "credit" {
			fmt.Fprintf(&c, " WHEN card_brand = %s THEN %s", quote(r.Brand), percent(r.Rate, 1_000_000, r.Fixed))
		}
	}
	last := paygate.InterchangeTable[len(paygate.InterchangeTable)-1]
	fmt.Fprintf(&c, " ELSE %s END", percent(last.Rate, 1_000_000, last.Fixed))
	return fee + " + " + c.String()
}

// cardTypeSQL is paygate.CardType in SQL: a card's type by the first six
// digits in column.
func cardTypeSQL(column string) string {
	bins := make([]string, 0, len(paygate.CardTypeBINs))
	for bin := range paygate.CardTypeBINs {
		bins = append(bins, bin)
	}
	slices.Sort(bins)
	var b strings.Builder
	b.WriteString("CASE " + column)
	for _, bin := range bins {
		fmt.Fprintf(&b, " WHEN '%s' THEN '%s'", bin, paygate.CardTypeBINs[bin])
	}
	b.WriteString(" ELSE '" + paygate.CardCredit + "' END")
	return b.String()
}
