package paygate

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// The close of a batch (batch.go) runs in steps, each recorded on the batch
// before the next begins, so that a close killed anywhere resumes where it
// stopped:
//
//	open ──AssignBatch──▶ closing/assigned ──0500 "00"──▶ settled/deposited
//	                          │ "95"
//	                          ▼
//	                   closing/reconciled ──0320 × n, 0500 "00"──▶ settled/deposited
//	                          │ "95"
//	                          ▼
//	                   out_of_balance/uploaded ──resend──▶ closing/assigned
//	                                            ──accept (reason)──▶ settled/deposited
//
// Every step's write is conditional on the batch's version: of two nodes
// (or requests) closing a batch at once, the first write wins and the other
// stops. A closing batch whose node died (unchanged for InDoubtAfter) is
// resumed by CloseDueBatches on any node. The acquirer answers a 0500 for a
// batch number it cleared already with the same answer, so a 0500 sent
// again after a crash funds nothing twice.

// CloseProgress is told how a close advances: what ("assigned",
// "uploaded"), how many items of how many.
type CloseProgress func(b *Batch, what string, done, total int64)

// batchItemPage is how many items a close reads at a time.
const batchItemPage = 5000

// OpenBatch returns the merchant's open batch of the currency, opening it
// (cutting off at the merchant's next cut-off) if there is none.
func (g *Gateway) OpenBatch(ctx context.Context, m *Merchant, c Currency) (*Batch, error) {
	now := g.now()
	b, err := g.Batches.OpenBatch(ctx, m.ID, c, now, m.NextCutoff(now))
	if err != nil {
		return nil, fmt.Errorf("open batch of %s %s: %w", m.ID, c.Code, err)
	}
	return b, nil
}

// Batch returns one of the merchant's batches; an open one with the totals
// of what it holds so far.
func (g *Gateway) Batch(ctx context.Context, m *Merchant, id string) (*Batch, error) {
	b, err := g.Batches.Batch(ctx, m.ID, id)
	if err != nil {
		return nil, err
	}
	return b, g.OpenBatchTotals(ctx, b)
}

// OpenBatchTotals sets an open batch's totals to what it holds so far (its
// transactions are claimed, and its items written, when it closes).
func (g *Gateway) OpenBatchTotals(ctx context.Context, b *Batch) error {
	if b.Status != BatchOpen {
		return nil
	}
	t, err := g.Batches.OpenTotals(ctx, b.MerchantID, b.Currency)
	if err != nil {
		return err
	}
	b.Totals = t
	return nil
}

// CloseBatch closes one of the merchant's batches, or resumes its close, and
// returns it as it ends (settled, out of balance, or still closing if the
// acquirer could not be reached: a later call resumes it) with its
// deposit if this call settled it.
func (g *Gateway) CloseBatch(ctx context.Context, m *Merchant, id string) (*Batch, *Deposit, error) {
	return g.CloseBatchProgress(ctx, m, id, nil)
}

// CloseBatchProgress is CloseBatch telling progress how it advances.
func (g *Gateway) CloseBatchProgress(ctx context.Context, m *Merchant, id string, progress CloseProgress) (*Batch, *Deposit, error) {
	// The merchant as stored: its pricing and time zone decide the
	// deposit, and a caller's copy may be older than a settings change.
	m, err := g.Merchants.Merchant(ctx, m.ID)
	if err != nil {
		return nil, nil, err
	}
	b, err := g.Batches.Batch(ctx, m.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if b.Status == BatchClosing {
		if b.UpdatedAt.After(g.now().Add(-g.inDoubtAfter())) {
			return b, nil, Errorf(ECONFLICT, "Batch %s is being closed.", b.ID)
		}
		if err := g.claimBatch(ctx, b); err != nil {
			return b, nil, err
		}
	}
	return g.runClose(ctx, m, b, progress)
}

// claimBatch takes over a closing batch whose close stopped: the write
// that bumps its version is the claim.
func (g *Gateway) claimBatch(ctx context.Context, b *Batch) error {
	b.UpdatedAt = g.now()
	if err := g.Batches.UpdateBatch(ctx, b); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			return Errorf(ECONFLICT, "Batch %s is being closed.", b.ID)
		}
		return fmt.Errorf("claim batch %s: %w", b.ID, err)
	}
	return nil
}

// runClose takes b through the close's steps from where it stands.
func (g *Gateway) runClose(ctx context.Context, m *Merchant, b *Batch, progress CloseProgress) (*Batch, *Deposit, error) {
	if progress == nil {
		progress = func(*Batch, string, int64, int64) {}
	}
	for {
		switch {
		case b.Status == BatchOpen:
			now := g.now()
			next := &Batch{ID: NewID("bat", now), MerchantID: b.MerchantID, Currency: b.Currency, Number: b.Number + 1,
				Status: BatchOpen, OpenedAt: now, CutoffAt: m.NextCutoff(now), UpdatedAt: now, Version: 1}
			b.ClosedAt, b.UpdatedAt = now, now
			if err := g.Batches.AssignBatch(ctx, b, next); err != nil {
				return g.lost(ctx, b, err, "assign")
			}
			n := b.Totals.DebitsCount + b.Totals.CreditsCount
			progress(b, StepAssigned, n, n)
		case b.Status == BatchClosing && b.Step == StepAssigned:
			resp, err := g.reconcile(ctx, m, b)
			if err != nil {
				return b, nil, err
			}
			if resp.ResponseCode == ResponseApproved {
				return g.settle(ctx, m, b, &resp, "")
			}
			b.Step, b.UpdatedAt = StepReconciled, g.now()
			if err := g.Batches.UpdateBatch(ctx, b); err != nil {
				return g.lost(ctx, b, err, "save reconciliation")
			}
		case b.Status == BatchClosing && b.Step == StepReconciled:
			if err := g.upload(ctx, m, b, progress); err != nil {
				return b, nil, err
			}
			resp, err := g.reconcile(ctx, m, b)
			if err != nil {
				return b, nil, err
			}
			if resp.ResponseCode == ResponseApproved {
				return g.settle(ctx, m, b, &resp, "")
			}
			b.Status, b.Step, b.Differences, b.UpdatedAt = BatchOutOfBalance, StepUploaded, resp.Differences, g.now()
			if err := g.Batches.UpdateBatch(ctx, b); err != nil {
				return g.lost(ctx, b, err, "save out of balance")
			}
			g.Logger.WarnContext(ctx, "batch out of balance", LogMerchantID, b.MerchantID, "batch_id", b.ID, "differences", len(b.Differences))
			return b, nil, nil
		default: // settled, out of balance: nothing to do
			return b, nil, nil
		}
	}
}

// lost makes the error of a step's write: one that lost its race to
// another close reads the batch as the winner left it.
func (g *Gateway) lost(ctx context.Context, b *Batch, err error, what string) (*Batch, *Deposit, error) {
	if errors.Is(err, ErrVersionConflict) {
		cur, rerr := g.Batches.Batch(ctx, b.MerchantID, b.ID)
		if rerr != nil {
			return b, nil, fmt.Errorf("reread batch %s: %w", b.ID, rerr)
		}
		return cur, nil, Errorf(ECONFLICT, "Batch %s is being closed.", b.ID)
	}
	return b, nil, fmt.Errorf("%s batch %s: %w", what, b.ID, err)
}

// pricing is the merchant's fee schedule in force.
func (m *Merchant) pricing() Pricing {
	if m.Pricing != nil {
		return *m.Pricing
	}
	return DefaultPricing
}

// reconcile sends the batch's 0500 and records the answer on b.
func (g *Gateway) reconcile(ctx context.Context, m *Merchant, b *Batch) (ReconcileResponse, error) {
	if g.Settler == nil {
		return ReconcileResponse{}, fmt.Errorf("reconcile batch %s: no settlement link to the acquirer", b.ID)
	}
	stan, _, err := g.nextSTANAndRRN(ctx)
	if err != nil {
		return ReconcileResponse{}, err
	}
	resp, err := g.Settler.Reconcile(ctx, ReconcileRequest{MerchantID: m.AcquirerID, TerminalID: m.TerminalID, BatchNumber: b.Number,
		Currency: b.Currency, Totals: b.Totals, Pricing: m.pricing().Code(), ClosedAt: b.ClosedAt, STAN: stan,
		TransmissionTime: g.now()})
	if err != nil {
		return resp, fmt.Errorf("reconcile batch %s: %w", b.ID, err)
	}
	switch resp.ResponseCode {
	case ResponseApproved, "95":
	default:
		return resp, fmt.Errorf("reconcile batch %s: acquirer answered %q", b.ID, resp.ResponseCode)
	}
	b.AcquirerTotals, b.ResponseCode = resp.Totals, resp.ResponseCode
	return resp, nil
}

// upload sends every item of b (0320), the last marked so, keeping the
// close's claim fresh on a long batch.
func (g *Gateway) upload(ctx context.Context, m *Merchant, b *Batch, progress CloseProgress) error {
	total := b.Totals.DebitsCount + b.Totals.CreditsCount
	var done int64
	after := ""
	for {
		items, err := g.Batches.BatchItems(ctx, b.ID, after, batchItemPage)
		if err != nil {
			return fmt.Errorf("items of batch %s: %w", b.ID, err)
		}
		for i, it := range items {
			done++
			stan, _, err := g.nextSTANAndRRN(ctx)
			if err != nil {
				return err
			}
			last := done == total || (len(items) < batchItemPage && i == len(items)-1)
			code, err := g.Settler.Upload(ctx, UploadRequest{MerchantID: m.AcquirerID, TerminalID: m.TerminalID, BatchNumber: b.Number,
				Item: *it, Last: last, STAN: stan, TransmissionTime: g.now()})
			if err != nil {
				return fmt.Errorf("upload batch %s: %w", b.ID, err)
			}
			if code != ResponseApproved {
				return fmt.Errorf("upload batch %s: acquirer answered %q for %s", b.ID, code, it.RRN)
			}
		}
		progress(b, StepUploaded, done, total)
		if len(items) < batchItemPage {
			return nil
		}
		after = items[len(items)-1].RRN
		if g.now().Sub(b.UpdatedAt) > g.inDoubtAfter()/3 {
			if err := g.claimBatch(ctx, b); err != nil {
				return err
			}
		}
	}
}

// fees adds up the merchant's fees over b's items (in the store: Pricing.Fee
// as SQL).
func (g *Gateway) fees(ctx context.Context, p Pricing, b *Batch) (int64, error) {
	fees, err := g.Batches.BatchFees(ctx, b.ID, p)
	if err != nil {
		return 0, fmt.Errorf("fees of batch %s: %w", b.ID, err)
	}
	return fees, nil
}

// settle records b's deposit and settles it. resp is the acquirer's
// in-balance answer (nil when an operator accepts an out-of-balance batch):
// the deposit must be what it funds, or the batch is out of balance.
func (g *Gateway) settle(ctx context.Context, m *Merchant, b *Batch, resp *ReconcileResponse, resolution string) (*Batch, *Deposit, error) {
	fees, err := g.fees(ctx, m.pricing(), b)
	if err != nil {
		return b, nil, err
	}
	now := g.now()
	d := &Deposit{ID: NewID("dep", now), BatchID: b.ID, MerchantID: b.MerchantID, Currency: b.Currency,
		Gross: b.Totals.DebitsAmount, Refunds: b.Totals.CreditsAmount, Fees: fees,
		Status: DepositPending, Pricing: m.pricing().Code(), CreatedAt: now}
	d.FundingDate, d.FundingAt = FundingDay(b.ClosedAt, m.Location())
	d.Net = b.Totals.Net() - fees
	if resp != nil && (resp.Funded != d.Net || resp.Fees != d.Fees) {
		b.Status, b.Step, b.UpdatedAt = BatchOutOfBalance, StepUploaded, now
		b.Differences = []BatchDifference{{Kind: "funding_differs", Amount: d.Net, AcquirerAmount: resp.Funded}}
		if err := g.Batches.UpdateBatch(ctx, b); err != nil {
			return g.lost(ctx, b, err, "save out of balance")
		}
		return b, nil, nil
	}
	b.Status, b.Step, b.Resolution, b.SettledAt, b.UpdatedAt = BatchSettled, StepDeposited, resolution, now, now
	if err := g.Batches.SettleBatch(ctx, b, d); err != nil {
		return g.lost(ctx, b, err, "settle")
	}
	g.Logger.InfoContext(ctx, "batch settled", LogMerchantID, b.MerchantID, "batch_id", b.ID, "net", d.Net)
	return b, d, nil
}

// OpenBatches opens a batch for each merchant (or the one merchant, if
// merchantID is not "") and currency that has approved transactions in no
// batch and no open batch yet, so that they close at the cut-off.
func (g *Gateway) OpenBatches(ctx context.Context, merchantID string) error {
	_, err := g.openBatches(ctx, merchantID)
	return err
}

// openBatches is OpenBatches, returning the merchants and currencies with
// transactions to batch.
func (g *Gateway) openBatches(ctx context.Context, merchantID string) (map[BatchKey]bool, error) {
	keys, err := g.Batches.Unbatched(ctx, merchantID)
	if err != nil {
		return nil, fmt.Errorf("list unbatched: %w", err)
	}
	work := map[BatchKey]bool{}
	var m *Merchant
	for _, k := range keys {
		if m == nil || m.ID != k.MerchantID {
			if m, err = g.Merchants.Merchant(ctx, k.MerchantID); err != nil {
				return nil, fmt.Errorf("merchant %s: %w", k.MerchantID, err)
			}
		}
		if _, err := g.OpenBatch(ctx, m, k.Currency); err != nil {
			return nil, err
		}
		work[BatchKey{k.MerchantID, Currency{Code: k.Currency.Code}}] = true
	}
	return work, nil
}

// CloseDueBatches closes the batches past their merchants' cut-off and
// resumes closes left unfinished by a node that died, on this node; a
// batch another node claimed first is skipped. It returns how many it
// took to their end (settled or out of balance).
func (g *Gateway) CloseDueBatches(ctx context.Context) (int, error) {
	work, err := g.openBatches(ctx, "")
	if err != nil {
		return 0, err
	}
	now := g.now()
	list, err := g.Batches.DueBatches(ctx, now, now.Add(-g.inDoubtAfter()), 100)
	if err != nil {
		return 0, fmt.Errorf("list due batches: %w", err)
	}
	n := 0
	var errs []error // a batch that fails does not hold up the others
	for _, b := range list {
		m, err := g.Merchants.Merchant(ctx, b.MerchantID)
		if err != nil {
			errs = append(errs, fmt.Errorf("merchant of batch %s: %w", b.ID, err))
			continue
		}
		if b.Status == BatchOpen && !work[BatchKey{b.MerchantID, Currency{Code: b.Currency.Code}}] {
			// Nothing to settle: the batch stays open until the next cut-off.
			b.CutoffAt, b.UpdatedAt = m.NextCutoff(now), now
			if err := g.Batches.UpdateBatch(ctx, b); err != nil && !errors.Is(err, ErrVersionConflict) {
				errs = append(errs, fmt.Errorf("move cut-off of batch %s: %w", b.ID, err))
			}
			continue
		}
		if b.Status == BatchClosing {
			if err := g.claimBatch(ctx, b); err != nil {
				if ErrorCode(err) != ECONFLICT {
					errs = append(errs, err)
				}
				continue
			}
		}
		b, _, err = g.runClose(ctx, m, b, nil)
		switch {
		case ErrorCode(err) == ECONFLICT:
		case err != nil:
			errs = append(errs, err)
		case b.Status != BatchClosing:
			n++
		}
	}
	return n, errors.Join(errs...)
}

// ResendBatch sends an out-of-balance batch's 0500 again (and uploads it
// again if it still does not balance): the acquirer may have corrected
// its records.
func (g *Gateway) ResendBatch(ctx context.Context, m *Merchant, id string) (*Batch, *Deposit, error) {
	m, err := g.Merchants.Merchant(ctx, m.ID) // as stored: its pricing decides the deposit
	if err != nil {
		return nil, nil, err
	}
	b, err := g.Batches.Batch(ctx, m.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if b.Status != BatchOutOfBalance {
		return b, nil, Errorf(ECONFLICT, "Batch %s is %s; only a batch out of balance can be sent again.", b.ID, b.Status)
	}
	b.Status, b.Step, b.UpdatedAt = BatchClosing, StepAssigned, g.now()
	if err := g.Batches.UpdateBatch(ctx, b); err != nil {
		return g.lost(ctx, b, err, "resend")
	}
	return g.runClose(ctx, m, b, nil)
}

// AcceptBatch settles an out-of-balance batch as the gateway counted it,
// recording the operator's reason: never a silent write-off.
func (g *Gateway) AcceptBatch(ctx context.Context, m *Merchant, id, reason string) (*Batch, *Deposit, error) {
	m, err := g.Merchants.Merchant(ctx, m.ID) // as stored: its pricing decides the deposit
	if err != nil {
		return nil, nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, nil, ParamErrorf(EMISSING, "reason", "A reason is required to accept a batch out of balance.")
	}
	if len(reason) > 500 {
		return nil, nil, ParamErrorf(EINVALID, "reason", "Reason must be at most 500 characters.")
	}
	if err := CheckFreeText("reason", reason); err != nil {
		return nil, nil, err
	}
	b, err := g.Batches.Batch(ctx, m.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if b.Status != BatchOutOfBalance {
		return b, nil, Errorf(ECONFLICT, "Batch %s is %s; only a batch out of balance can be accepted.", b.ID, b.Status)
	}
	return g.settle(ctx, m, b, nil, reason)
}

// PayDeposits marks paid the deposits whose funding date has come (in
// each merchant's time zone) and posts their deposit.paid events.
func (g *Gateway) PayDeposits(ctx context.Context) (int, error) {
	now := g.now()
	paid, err := g.Batches.PayDeposits(ctx, now)
	if err != nil {
		return 0, fmt.Errorf("pay deposits: %w", err)
	}
	return len(paid), nil
}

// BatchEvents returns the events that saving b (with d, its deposit, when
// it settles) reports: batch.settled, or batch.out_of_balance. A store
// writes them in the same transaction as b.
func BatchEvents(b *Batch, d *Deposit) []*Event {
	data := EventData{BatchID: b.ID, BatchNumber: b.Number, Status: string(b.Status), Currency: b.Currency.Code}
	switch {
	case b.Status == BatchSettled && d != nil:
		data.DepositID, data.Amount, data.FundingDate = d.ID, d.Net, d.FundingDate
		return []*Event{newEvent(b.MerchantID, EventBatchSettled, data, b.UpdatedAt)}
	case b.Status == BatchOutOfBalance:
		data.Amount = b.Totals.Net()
		return []*Event{newEvent(b.MerchantID, EventBatchOutOfBalance, data, b.UpdatedAt)}
	}
	return nil
}

// DepositEvents returns the event of d's payment.
func DepositEvents(d *Deposit) []*Event {
	if d.Status != DepositPaid {
		return nil
	}
	return []*Event{newEvent(d.MerchantID, EventDepositPaid, EventData{BatchID: d.BatchID, DepositID: d.ID, Status: d.Status,
		Amount: d.Net, Currency: d.Currency.Code, FundingDate: d.FundingDate}, d.PaidAt)}
}
