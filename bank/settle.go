package bank

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/iso8583"
)

// The acquirer's settlement side: what each merchant's terminal has had
// approved since its last reconciliation, the reconciliation itself
// (0500/0510) with clearing, fees and funding, and the batch upload
// (0320/0330).

// rcReconcileError is DE39 95: the totals do not balance.
const rcReconcileError = "95"

// Difference kinds (paygate.BatchDifference.Kind).
const (
	missingAtAcquirer = "missing_at_acquirer"
	missingAtGateway  = "missing_at_gateway"
	amountDiffers     = "amount_differs"
)

// settleKey is whom a transaction settles with: the merchant (DE42), its
// terminal (DE41) and the currency (DE49, numeric).
type settleKey struct {
	merchant, terminal, currency string
}

// ledger is one settleKey's transactions since its last reconciliation.
// Its fields are guarded by settlement.mu; the key is fixed.
type ledger struct {
	key settleKey
	// rrns is every RRN an account remembers for the key, with its card
	// number: the items of the next reconciliation, and what it prunes.
	rrns   map[rrn]string
	upload *upload // the gateway's view of a batch, from 0320s
	// carried marks the transactions an upload left out once: the
	// gateway may have approved them just after its close (they belong
	// to its next batch); left out of a second upload, they differ.
	carried map[rrn]bool
}

// upload is a batch as the gateway uploaded it.
type upload struct {
	batch int64
	items map[rrn]uploadItem
	done  bool // the last item came
}

type uploadItem struct {
	credit bool
	amount int64
}

type fundingKey struct {
	key   settleKey
	batch int64
}

// settlement is the bank's settlement state. Lock order: mu, then the
// accounts' locks (all of them, in the order of their card numbers, when
// a reconciliation clears); an account's operations never take mu while
// they hold the account's lock.
type settlement struct {
	mu       sync.Mutex
	ledgers  map[settleKey]*ledger
	funded   map[fundingKey]Funding // every funding, by batch
	fundings map[string][]Funding   // by merchant, in order
}

// Funding is what the acquirer paid a merchant for one reconciled batch.
type Funding struct {
	MerchantID  string
	TerminalID  string
	Currency    string // numeric ISO 4217
	BatchNumber int64
	Totals      paygate.Totals // the batch's, as cleared
	Fees        int64
	Funded      int64 // Totals.Net() - Fees
	At          time.Time
}

func keyOf(merchant, terminal string, c paygate.Currency) settleKey {
	return settleKey{merchant: merchant, terminal: terminal, currency: c.Numeric}
}

// ledger returns the ledger of a merchant's terminal and currency,
// creating it.
func (b *Bank) ledger(merchant, terminal string, c paygate.Currency) *ledger {
	return b.ledgerOf(keyOf(merchant, terminal, c))
}

func (b *Bank) ledgerOf(k settleKey) *ledger {
	s := &b.settle
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.ledgers[k]
	if l == nil {
		l = &ledger{key: k, rrns: map[rrn]string{}}
		s.ledgers[k] = l
	}
	return l
}

// note records that the account of pan remembers k under led. It runs
// after the account's change, without its lock.
func (b *Bank) note(led *ledger, k rrn, pan string) {
	b.settle.mu.Lock()
	led.rrns[k] = pan
	b.settle.mu.Unlock()
}

// Fundings returns what the acquirer funded a merchant, batch by batch.
func (b *Bank) Fundings(merchantID string) []Funding {
	b.settle.mu.Lock()
	defer b.settle.mu.Unlock()
	return slices.Clone(b.settle.fundings[merchantID])
}

// Funded returns the sum of a merchant's fundings.
func (b *Bank) Funded(merchantID string) int64 {
	var n int64
	for _, f := range b.Fundings(merchantID) {
		n += f.Funded
	}
	return n
}

// item is one transaction a reconciliation counts.
type item struct {
	k      rrn
	pan    string
	debit  int64
	credit int64
}

// items returns led's pending transactions sent before closedAt (zero:
// all) and forgets the RRNs no account remembers any longer; s.mu is
// held.
func (b *Bank) items(led *ledger, closedAt time.Time) []item {
	var list []item
	for k, pan := range led.rrns {
		a := b.accounts[pan]
		a.mu.Lock()
		t, ok := a.txns[k]
		a.mu.Unlock()
		switch {
		case !ok || t.led != led:
			delete(led.rrns, k)
		case t.pending() && (closedAt.IsZero() || t.at < closedAt.Unix()):
			list = append(list, item{k: k, pan: pan, debit: t.posted, credit: t.credited})
		}
	}
	return list
}

func totalsOf(list []item) (t paygate.Totals) {
	for _, it := range list {
		if it.debit > 0 {
			t.DebitsCount++
			t.DebitsAmount += it.debit
		}
		if it.credit > 0 {
			t.CreditsCount++
			t.CreditsAmount += it.credit
		}
	}
	return t
}

// clear clears list (led's items) and prunes what led no longer needs:
// each hold is released and the final amount posted, each refund
// credited, and every RRN of led without an open hold is forgotten, the
// items' and those of declines, reversals and duplicates alike. It holds
// every account's lock while it changes them and queues the changes to
// the journal as one group (one transaction on disk, with the funding
// when there is one). It returns the last entry queued; s.mu is held.
func (b *Bank) clear(led *ledger, list []item, funding ...Funding) *entry {
	pans := make([]string, 0, len(b.accounts))
	for pan := range b.accounts {
		pans = append(pans, pan)
	}
	slices.Sort(pans)
	for _, pan := range pans {
		b.accounts[pan].mu.Lock()
	}
	defer func() {
		for _, pan := range pans {
			b.accounts[pan].mu.Unlock()
		}
	}()
	var group []*entry
	journaled := b.journal != nil
	clearOne := func(a *account, k rrn, t txn) {
		a.held -= t.held
		a.available += t.held
		a.posted -= t.posted
		a.available -= t.posted
		a.posted += t.credited
		a.available += t.credited
		t.held, t.posted, t.credited = 0, 0, 0
		delete(a.txns, k)
		delete(led.rrns, k)
		if journaled {
			group = append(group, a.entry(k, t, true))
		}
	}
	for _, it := range list {
		a := b.accounts[it.pan]
		if t, ok := a.txns[it.k]; ok && t.led == led {
			clearOne(a, it.k, t)
		}
	}
	// Prune the rest that is done with: all but open holds and pending
	// items (those sent after the close: the next batch's).
	for k, pan := range led.rrns {
		a := b.accounts[pan]
		t, ok := a.txns[k]
		if !ok || t.led != led {
			delete(led.rrns, k)
			continue
		}
		if t.held > 0 || t.pending() {
			continue
		}
		clearOne(a, k, t)
	}
	if len(led.rrns) == 0 {
		led.rrns = map[rrn]string{} // a map keeps its buckets: let the peak's go
	}
	if !journaled {
		for _, f := range funding {
			b.recordFunding(f)
		}
		return nil
	}
	for _, f := range funding {
		b.recordFunding(f)
		group = append(group, &entry{funding: &f, done: make(chan struct{})})
	}
	if len(group) == 0 {
		return nil
	}
	last := group[len(group)-1]
	for _, e := range group {
		if e.pan != "" {
			b.accounts[e.pan].last = last
		}
	}
	b.journal.enqueueAll(group)
	return last
}

// recordFunding keeps f in memory; s.mu is held.
func (b *Bank) recordFunding(f Funding) {
	s := &b.settle
	if s.fundings == nil {
		s.fundings = map[string][]Funding{}
	}
	s.funded[fundingKey{keyOf(f.MerchantID, f.TerminalID, paygate.Currency{Numeric: f.Currency}), f.BatchNumber}] = f
	s.fundings[f.MerchantID] = append(s.fundings[f.MerchantID], f)
}

// reconcile answers a 0500; see the package documentation.
func (b *Bank) reconcile(req paygate.ReconcileRequest) (paygate.ReconcileResponse, *entry) {
	pricing := paygate.DefaultPricing
	if req.Pricing != "" {
		p, err := paygate.ParsePricing(req.Pricing)
		if err != nil {
			return paygate.ReconcileResponse{ResponseCode: rcFormatError}, nil
		}
		pricing = p
	}
	k := keyOf(req.MerchantID, req.TerminalID, req.Currency)
	led := b.ledgerOf(k)
	s := &b.settle
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.funded[fundingKey{k, req.BatchNumber}]; ok {
		// A repeat of a reconciliation already funded (its answer was
		// lost): the same answer, nothing cleared again.
		return paygate.ReconcileResponse{ResponseCode: rcApproved, Totals: f.Totals, Funded: f.Funded, Fees: f.Fees}, nil
	}
	list := b.items(led, req.ClosedAt)
	resp := paygate.ReconcileResponse{Totals: totalsOf(list)}
	balanced := resp.Totals == req.Totals
	if up := led.upload; up != nil && up.done && up.batch == req.BatchNumber {
		// The upload says what the batch is: transactions of ours that it
		// leaves out for the first time, when nothing else differs, are
		// carried to the next batch (the gateway approved them around
		// its close), not differences. Left out twice, they differ.
		all := differences(list, up)
		carry := map[string]bool{}
		others := 0
		for _, d := range all {
			if d.Kind == missingAtGateway && !led.carried[rrnOf(d.RRN)] {
				carry[d.RRN] = true
			} else {
				others++
			}
		}
		diffs := all
		if others == 0 && len(carry) > 0 {
			diffs = nil
			kept := list[:0:0]
			for _, it := range list {
				if !carry[it.k.String()] {
					kept = append(kept, it)
				}
			}
			list = kept
			resp.Totals = totalsOf(list)
			if led.carried == nil {
				led.carried = map[rrn]bool{}
			}
			for r := range carry {
				led.carried[rrnOf(r)] = true
			}
		}
		resp.DifferenceCount = len(diffs)
		resp.Differences = diffs[:min(len(diffs), paygate.MaxReconcileDifferences)]
		balanced = len(diffs) == 0
	}
	if !balanced {
		resp.ResponseCode = rcReconcileError
		return resp, nil
	}
	for _, it := range list {
		delete(led.carried, it.k)
	}
	for _, it := range list {
		if it.debit > 0 {
			resp.Fees += pricing.Fee(&paygate.BatchItem{Kind: "debit", Amount: it.debit,
				CardBrand: paygate.CardBrand(it.pan), CardType: cardType(it.pan)})
		}
	}
	resp.ResponseCode = rcApproved
	resp.Funded = resp.Totals.Net() - resp.Fees
	resp.Differences, resp.DifferenceCount = nil, 0
	led.upload = nil
	f := Funding{MerchantID: req.MerchantID, TerminalID: req.TerminalID, Currency: req.Currency.Numeric,
		BatchNumber: req.BatchNumber, Totals: resp.Totals, Fees: resp.Fees, Funded: resp.Funded, At: time.Now().UTC()}
	return resp, b.clear(led, list, f)
}

// cardType is the type of a card for the fee tables, by its BIN.
func cardType(pan string) string { return paygate.CardType(pan) }

// differences compares the acquirer's items with an upload, in RRN order.
func differences(list []item, up *upload) []paygate.BatchDifference {
	var diffs []paygate.BatchDifference
	seen := make(map[rrn]bool, len(list))
	for _, it := range list {
		seen[it.k] = true
		g, ok := up.items[it.k]
		switch {
		case !ok:
			diffs = append(diffs, paygate.BatchDifference{RRN: it.k.String(), Kind: missingAtGateway, AcquirerAmount: max(it.debit, it.credit)})
		case g.credit != (it.credit > 0) || g.amount != max(it.debit, it.credit):
			diffs = append(diffs, paygate.BatchDifference{RRN: it.k.String(), Kind: amountDiffers, Amount: g.amount, AcquirerAmount: max(it.debit, it.credit)})
		}
	}
	for k, g := range up.items {
		if !seen[k] {
			diffs = append(diffs, paygate.BatchDifference{RRN: k.String(), Kind: missingAtAcquirer, Amount: g.amount})
		}
	}
	slices.SortFunc(diffs, func(x, y paygate.BatchDifference) int { return strings.Compare(x.RRN, y.RRN) })
	return diffs
}

// maxUploadItems bounds an upload kept in memory.
const maxUploadItems = 10_000_000

// upload records one 0320.
func (b *Bank) upload(req paygate.UploadRequest) string {
	led := b.ledger(req.MerchantID, req.TerminalID, req.Item.Currency)
	s := &b.settle
	s.mu.Lock()
	defer s.mu.Unlock()
	up := led.upload
	if up == nil || up.done || up.batch != req.BatchNumber {
		up = &upload{batch: req.BatchNumber, items: map[rrn]uploadItem{}}
		led.upload = up
	}
	if len(up.items) >= maxUploadItems {
		return rcReconcileError
	}
	up.items[rrnKey(req.Item.RRN)] = uploadItem{credit: req.Item.Kind == "credit", amount: req.Item.Amount}
	if req.Last {
		up.done = true
	}
	return rcApproved
}

// handleReconcile unpacks, answers and packs a 0500.
func (b *Bank) handleReconcile(ctx context.Context, msg []byte) ([]byte, error) {
	req, err := iso8583.UnpackReconcile(msg)
	if err != nil {
		b.stats.malformed.Add(1)
		b.log.LogAttrs(ctx, slog.LevelWarn, "bank: malformed reconciliation", slog.String(keyError, err.Error()))
		return nil, fmt.Errorf("bank: %w", err)
	}
	b.stats.reconciliations.Add(1)
	resp, w := b.reconcile(req)
	if err := w.wait(); err != nil {
		return nil, fmt.Errorf("bank: 0500 stan %s not answered: %w", req.STAN, err)
	}
	b.log.LogAttrs(ctx, slog.LevelInfo, "bank: reconciliation",
		slog.String(keyMerchant, req.MerchantID), slog.String(keyTerminal, req.TerminalID), slog.Int64(keyBatch, req.BatchNumber),
		slog.String(keyResponseCode, resp.ResponseCode), slog.Int64(keyFunded, resp.Funded), slog.Int64(keyFees, resp.Fees),
		slog.Int(keyDifferences, resp.DifferenceCount))
	out, err := iso8583.PackReconcileResponse(req, resp)
	if err != nil {
		return nil, fmt.Errorf("bank: answer 0500 stan %s: %w", req.STAN, err)
	}
	return out, nil
}

// handleUpload unpacks, answers and packs a 0320.
func (b *Bank) handleUpload(ctx context.Context, msg []byte) ([]byte, error) {
	req, err := iso8583.UnpackUpload(msg)
	if err != nil {
		b.stats.malformed.Add(1)
		b.log.LogAttrs(ctx, slog.LevelWarn, "bank: malformed batch upload", slog.String(keyError, err.Error()))
		return nil, fmt.Errorf("bank: %w", err)
	}
	b.stats.uploads.Add(1)
	out, err := iso8583.PackUploadResponse(req, b.upload(req))
	if err != nil {
		return nil, fmt.Errorf("bank: answer 0320 stan %s: %w", req.STAN, err)
	}
	return out, nil
}

// Log keys of settlement.
const (
	keyMerchant    = "merchant_id"
	keyTerminal    = "terminal_id"
	keyBatch       = "batch"
	keyFunded      = "funded"
	keyFees        = "fees"
	keyDifferences = "differences"
)

// rrnOf is the key of an RRN as text.
func rrnOf(s string) rrn {
	var k rrn
	copy(k[:], s)
	return k
}
