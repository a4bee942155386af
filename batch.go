package paygate

import (
	"context"
	"time"
)

// End-of-day settlement (seeds 001 and 004). Each merchant has one open
// batch per currency. Approved sales and captures (debits) and succeeded
// refunds (credits) belong to the open batch until it closes: closing
// claims every approved, unbatched transaction of the merchant and currency
// approved before the close (one UPDATE: nothing in two batches, nothing
// left behind; what arrives during the close goes to the next batch), then
// reconciles the totals with the acquirer (0500/0510; when out of balance,
// uploads the batch, 0320/0330, and reconciles again), then records the
// deposit. Each step is recorded on the batch (Step), so a close killed at
// any step resumes to exactly one settled batch.

// BatchStatus is where a batch stands. Wire names.
type BatchStatus string

const (
	BatchOpen         BatchStatus = "open"
	BatchClosing      BatchStatus = "closing"
	BatchSettled      BatchStatus = "settled"
	BatchOutOfBalance BatchStatus = "out_of_balance" // the acquirer's totals differ, even after the upload
)

// Close steps, in order. Wire names (they show on a closing batch).
const (
	StepAssigned   = "assigned"   // the batch's transactions are claimed and its totals computed
	StepReconciled = "reconciled" // the acquirer answered the 0500 (in balance or not)
	StepUploaded   = "uploaded"   // out of balance: the batch was uploaded (0320) and reconciled again
	StepDeposited  = "deposited"  // the deposit is recorded: the batch is settled
)

// Totals are a batch's counts and amounts as the 0500 carries them: debits
// are sales and captures, credits are refunds; reversals of either, when a
// cleared item is taken back. Net is debits − credits − debit reversals +
// credit reversals.
type Totals struct {
	DebitsCount           int64
	DebitsAmount          int64
	CreditsCount          int64
	CreditsAmount         int64
	DebitReversalsCount   int64
	DebitReversalsAmount  int64
	CreditReversalsCount  int64
	CreditReversalsAmount int64
}

// Net is the amount the totals settle.
func (t Totals) Net() int64 {
	return t.DebitsAmount - t.CreditsAmount - t.DebitReversalsAmount + t.CreditReversalsAmount
}

// Batch is one merchant's transactions of one currency, settled together.
type Batch struct {
	ID         string // "bat_..."
	MerchantID string
	Currency   Currency
	Number     int64 // the merchant's batch number, counting up (DE? in the 0500: the terminal's batch)
	Status     BatchStatus
	Step       string // the last close step done ("" while open)
	Totals     Totals // the gateway's, once assigned
	// AcquirerTotals are the acquirer's answer to the last 0500.
	AcquirerTotals Totals
	ResponseCode   string // of the last 0510: "00" in balance, "95" out of balance
	// Differences lists what differs after the upload (out of balance):
	// transactions missing on either side or with another amount.
	Differences []BatchDifference
	// Resolution: an out-of-balance batch an operator accepted, and why.
	Resolution string
	OpenedAt   time.Time
	// CutoffAt is when the batch closes by itself: the merchant's next
	// cut-off (Merchant.NextCutoff) after it opened.
	CutoffAt  time.Time
	ClosedAt  time.Time // when the close began (its transactions were approved before it)
	SettledAt time.Time
	// UpdatedAt is when the batch last changed: a closing batch not
	// changed for InDoubtAfter is resumed by another node.
	UpdatedAt time.Time
	Version   int
}

// BatchDifference is a transaction on which the gateway and the acquirer
// disagree.
type BatchDifference struct {
	RRN            string `json:"rrn"`
	Kind           string `json:"kind"`            // "missing_at_acquirer", "missing_at_gateway", "amount_differs"
	Amount         int64  `json:"amount"`          // the gateway's (0 if missing there)
	AcquirerAmount int64  `json:"acquirer_amount"` // the acquirer's (0 if missing there)
}

// BatchItem is one transaction of a batch: a debit (a sale or a capture) or
// a credit (a refund).
type BatchItem struct {
	BatchID   string
	Kind      string // "debit" or "credit"
	PaymentID string
	RefundID  string // for a credit
	RRN       string // the reference the acquirer knows it by
	STAN      string
	AuthCode  string
	Amount    int64
	Currency  Currency
	CardBrand string
	CardType  string // "credit", "debit", "prepaid" (by BIN; the fee tables use it)
	CardLast4 string
	At        time.Time // approved at
}

// Deposit is what the acquirer pays the merchant for a settled batch, in
// minor units: Net = Gross − Refunds − Fees.
type Deposit struct {
	ID          string // "dep_..."
	BatchID     string
	MerchantID  string
	Currency    Currency
	Gross       int64 // debits
	Refunds     int64 // credits
	Fees        int64
	Net         int64
	FundingDate string // YYYY-MM-DD: the next business day after the close by default
	// FundingAt is when the deposit is paid: the start of FundingDate in
	// the merchant's time zone.
	FundingAt time.Time
	Status    string // DepositPending, DepositPaid
	// Pricing is the fee schedule (Pricing.Code) Fees were computed with
	// ("" in deposits older than it: the merchant's).
	Pricing   string
	CreatedAt time.Time
	PaidAt    time.Time
}

// Deposit statuses. Wire names.
const (
	DepositPending = "pending"
	DepositPaid    = "paid"
)

// Batch and deposit event types (post-backs). Wire names.
const (
	EventBatchSettled      = "batch.settled"
	EventBatchOutOfBalance = "batch.out_of_balance"
	EventDepositPaid       = "deposit.paid"
)

// ReconcileRequest is a 0500: a batch's totals, for the acquirer to
// compare with what it recorded for the merchant and terminal since the
// last close.
type ReconcileRequest struct {
	MerchantID  string // DE42
	TerminalID  string // DE41
	BatchNumber int64
	Currency    Currency
	Totals      Totals
	Pricing     string // the merchant's fee schedule (Pricing.Code), so the acquirer funds what the deposit says
	// ClosedAt is the batch's ClosedAt: the acquirer counts what was sent
	// to it (DE7 of the approving message) before then, and leaves what
	// came later for the next batch. Zero: everything so far.
	ClosedAt         time.Time
	STAN             string
	TransmissionTime time.Time
}

// ReconcileResponse is a 0510.
type ReconcileResponse struct {
	ResponseCode string // "00" in balance (the batch is cleared and funded), "95" out of balance
	Totals       Totals // the acquirer's
	Funded       int64  // in balance: what the acquirer deposits (net of fees)
	Fees         int64  // in balance: the fees it kept
	// Differences: after an upload, out of balance, the transactions on
	// which the acquirer disagrees, at most MaxReconcileDifferences of
	// them; DifferenceCount is how many there are in all.
	Differences     []BatchDifference
	DifferenceCount int
}

// MaxReconcileDifferences is the most differences one 0510 lists.
const MaxReconcileDifferences = 26

// Message type indicators of settlement (see MTIAuthorization).
const (
	MTIReconciliation = "0500" // ReconcileRequest; answered 0510
	MTIBatchUpload    = "0320" // UploadRequest; answered 0330
)

// UploadRequest is a 0320: one transaction of a batch sent in full, when
// the totals did not balance.
type UploadRequest struct {
	MerchantID       string
	TerminalID       string
	BatchNumber      int64
	Item             BatchItem
	Last             bool // the batch's last item
	STAN             string
	TransmissionTime time.Time
}

// Settler is the acquirer's settlement side (ISO 8583 0500/0510 and
// 0320/0330). The in-process bank and the link to a bank server implement
// it.
type Settler interface {
	Reconcile(ctx context.Context, r ReconcileRequest) (ReconcileResponse, error)
	Upload(ctx context.Context, r UploadRequest) (responseCode string, err error)
}

// BatchFilter selects batches for listing, newest first.
type BatchFilter struct {
	MerchantID    string
	Status        BatchStatus
	Currency      string
	StartingAfter string
	Limit         int
}

// BatchKey names a merchant's batches of one currency.
type BatchKey struct {
	MerchantID string
	Currency   Currency
}

// BatchStore keeps batches, their items and deposits.
type BatchStore interface {
	// OpenBatch returns the merchant's open batch of the currency,
	// creating it (numbered after the last; opened at now, cutting off at
	// cutoff) if there is none.
	OpenBatch(ctx context.Context, merchantID string, c Currency, now, cutoff time.Time) (*Batch, error)
	Batch(ctx context.Context, merchantID, id string) (*Batch, error)
	// OpenTotals adds up what the merchant's open batch of the currency
	// holds so far: its approved transactions no batch has claimed yet.
	OpenTotals(ctx context.Context, merchantID string, c Currency) (Totals, error)
	// OpenTotalsByCurrency is OpenTotals of every currency at once, by
	// code: the currencies with no transaction waiting are left out (so
	// its keys are also the merchant's currencies in Unbatched).
	OpenTotalsByCurrency(ctx context.Context, merchantID string) (map[string]Totals, error)
	Batches(ctx context.Context, f BatchFilter) (list []*Batch, hasMore bool, err error)
	// UpdateBatch saves b if its Version is still the stored one (and
	// bumps it); else ErrVersionConflict.
	UpdateBatch(ctx context.Context, b *Batch) error
	// AssignBatch, in one transaction: moves b from open to closing at
	// b.ClosedAt, claims for it every approved transaction of its
	// merchant and currency approved before then that no batch has
	// (captured payments: debits; succeeded refunds: credits), stores its
	// items and totals (b.Totals set), sets Step StepAssigned, and opens
	// next (the merchant's next batch of the currency). Conditional on
	// b.Version (ErrVersionConflict).
	AssignBatch(ctx context.Context, b *Batch, next *Batch) error
	// BatchItems returns a batch's items, in approval order, after the
	// given RRN ("" from the start), up to limit.
	BatchItems(ctx context.Context, batchID, afterRRN string, limit int) ([]*BatchItem, error)
	// BatchFees returns the sum of p.Fee over a batch's items, computed
	// by the store (without reading the items out).
	BatchFees(ctx context.Context, batchID string, p Pricing) (int64, error)
	// SettleBatch, in one transaction: saves b (status settled, step
	// deposited) conditional on its Version, stores d, stamps the
	// batch's payments settled, and writes the batch.settled event.
	SettleBatch(ctx context.Context, b *Batch, d *Deposit) error
	// DueBatches returns open batches whose CutoffAt is at or before now,
	// and closing batches last changed before staleBefore (a close to
	// resume), up to limit.
	DueBatches(ctx context.Context, now, staleBefore time.Time, limit int) ([]*Batch, error)
	Deposit(ctx context.Context, merchantID, id string) (*Deposit, error)
	Deposits(ctx context.Context, f BatchFilter) (list []*Deposit, hasMore bool, err error)
	// Unbatched returns the merchants (or the one merchant, if
	// merchantID is not "") and currencies that have approved
	// transactions in no batch, so that each gets an open batch.
	Unbatched(ctx context.Context, merchantID string) ([]BatchKey, error)
	// PayDeposits marks paid, at now, the pending deposits whose FundingAt
	// has come.
	PayDeposits(ctx context.Context, now time.Time) ([]*Deposit, error)
}
