package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var batchTests = []test{
	{"AssignClaims", testAssignClaims},
	{"AssignConcurrentCaptures", testAssignConcurrentCaptures},
	{"OpenBatchConcurrent", testOpenBatchConcurrent},
	{"DueBatches", testDueBatches},
	{"SettleBatch", testSettleBatch},
	{"PayDeposits", testPayDeposits},
	{"BatchFees", testBatchFees},
	{"Unbatched", testUnbatched},
}

// mustOpenBatch opens (or returns) the merchant's batch of the currency.
func mustOpenBatch(tb testing.TB, s Stores, merchantID, currency string, now time.Time) *paygate.Batch {
	tb.Helper()
	b, err := s.Batches.OpenBatch(tb.Context(), merchantID, MustCurrency(tb, currency), now, now.Add(24*time.Hour))
	if err != nil {
		tb.Fatalf("OpenBatch: %v", err)
	}
	return b
}

// assign closes b at closedAt as the gateway does, opening the next.
func assign(tb testing.TB, s Stores, b *paygate.Batch, closedAt time.Time) (*paygate.Batch, error) {
	tb.Helper()
	next := &paygate.Batch{ID: paygate.NewID("bat", closedAt), MerchantID: b.MerchantID, Currency: b.Currency, Number: b.Number + 1,
		Status: paygate.BatchOpen, OpenedAt: closedAt, CutoffAt: closedAt.Add(24 * time.Hour), UpdatedAt: closedAt, Version: 1}
	b.ClosedAt, b.UpdatedAt = closedAt, closedAt
	return next, s.Batches.AssignBatch(tb.Context(), b, next)
}

// mustItems returns every item of a batch.
func mustItems(tb testing.TB, s Stores, batchID string) []*paygate.BatchItem {
	tb.Helper()
	items, err := s.Batches.BatchItems(tb.Context(), batchID, "", 1_000_000)
	if err != nil {
		tb.Fatalf("BatchItems(%s): %v", batchID, err)
	}
	return items
}

// itemKeys names a batch's items: "debit pay_…" or "credit re_…".
func itemKeys(items []*paygate.BatchItem) map[string]int64 {
	out := map[string]int64{}
	for _, it := range items {
		id := it.PaymentID
		if it.Kind == "credit" {
			id = it.RefundID
		}
		out[it.Kind+" "+id] = it.Amount
	}
	return out
}

func testAssignClaims(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	other := MustCreateMerchant(t, s.Merchants, "Other")
	b := mustOpenBatch(t, s, m.ID, "USD", Base)
	closeAt := Base.Add(10 * time.Hour)

	sale := capturedPayment(t, s, m.ID, Base.Add(time.Hour))
	partly := capturedPayment(t, s, m.ID, Base.Add(2*time.Hour))
	partly.AmountCaptured = 7000 // a partial capture of 100.00
	MustUpdatePayment(t, s.Payments, partly)
	refund := newRefund(partly, 2500, Base.Add(3*time.Hour))
	MustSaveRefund(t, s.Payments, partly, refund)
	settle(partly, refund, paygate.RefundSucceeded, "00", Base.Add(3*time.Hour))
	MustSaveRefund(t, s.Payments, partly, refund)
	failed := newRefund(sale, 1000, Base.Add(3*time.Hour))
	MustSaveRefund(t, s.Payments, sale, failed)
	settle(sale, failed, paygate.RefundFailed, "05", Base.Add(3*time.Hour))
	MustSaveRefund(t, s.Payments, sale, failed)
	authorized := NewPayment(t, m.ID, Base.Add(time.Hour)) // never captured
	MustCreatePayment(t, s.Payments, authorized)
	voided := NewPayment(t, m.ID, Base.Add(time.Hour))
	voided.Status = paygate.StatusVoided
	MustCreatePayment(t, s.Payments, voided)
	late := capturedPayment(t, s, m.ID, closeAt) // at the close: the next batch's
	euro := NewPayment(t, m.ID, Base.Add(time.Hour))
	euro.Currency, euro.AmountCaptured, euro.Status, euro.CapturedAt = MustCurrency(t, "EUR"), euro.Amount, paygate.StatusCaptured, euro.CreatedAt
	MustCreatePayment(t, s.Payments, euro)
	theirs := capturedPayment(t, s, other.ID, Base.Add(time.Hour))

	// What the open batches hold: by currency in one query, as OpenTotals
	// says for each; the other merchant's payment is not counted.
	byCurrency, err := s.Batches.OpenTotalsByCurrency(ctx, m.ID)
	wantOpen := map[string]paygate.Totals{
		"USD": {DebitsCount: 3, DebitsAmount: 27000, CreditsCount: 1, CreditsAmount: 2500},
		"EUR": {DebitsCount: 1, DebitsAmount: euro.Amount},
	}
	if err != nil || fmt.Sprint(byCurrency) != fmt.Sprint(wantOpen) {
		t.Errorf("OpenTotalsByCurrency: got %v %v, want %v", byCurrency, err, wantOpen)
	}
	for code, want := range wantOpen {
		if got, err := s.Batches.OpenTotals(ctx, m.ID, MustCurrency(t, code)); err != nil || got != want {
			t.Errorf("OpenTotals %s: got %+v %v, want %+v", code, got, err, want)
		}
	}

	next, err := assign(t, s, b, closeAt)
	if err != nil {
		t.Fatalf("AssignBatch: %v", err)
	}
	want := map[string]int64{"debit " + sale.ID: 10000, "debit " + partly.ID: 7000, "credit " + refund.ID: 2500}
	if got := itemKeys(mustItems(t, s, b.ID)); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("items: got %v, want %v", got, want)
	}
	wantTotals := paygate.Totals{DebitsCount: 2, DebitsAmount: 17000, CreditsCount: 1, CreditsAmount: 2500}
	if b.Totals != wantTotals || b.Status != paygate.BatchClosing || b.Step != paygate.StepAssigned {
		t.Errorf("batch after AssignBatch: got %s/%s %+v, want closing/assigned %+v", b.Status, b.Step, b.Totals, wantTotals)
	}
	stored, err := s.Batches.Batch(ctx, m.ID, b.ID)
	if err != nil || stored.Totals != wantTotals || stored.Version != b.Version || !stored.ClosedAt.Equal(closeAt.Truncate(time.Microsecond)) {
		t.Errorf("stored batch: got %v %+v, want totals %+v version %d", err, stored, wantTotals, b.Version)
	}
	for _, it := range mustItems(t, s, b.ID) {
		if it.RRN == "" || it.CardLast4 != "4242" || it.CardBrand == "" || it.At.IsZero() || it.Currency.Code != "USD" {
			t.Errorf("item %+v: want its RRN, card brand and last 4, time and currency", it)
		}
	}
	if p := MustPayment(t, s.Payments, m.ID, sale.ID); !p.Settled() || p.Version <= sale.Version {
		t.Errorf("claimed payment: settled %v version %d (was %d), want stamped and bumped", p.Settled(), p.Version, sale.Version)
	}
	// The claim is conditional on the batch's version and status.
	stale := *stored
	stale.Version--
	if _, err := assign(t, s, &stale, closeAt.Add(time.Hour)); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Errorf("AssignBatch of a stale copy: got %v, want ErrVersionConflict", err)
	}
	if _, err := assign(t, s, stored, closeAt.Add(time.Hour)); err == nil {
		t.Errorf("AssignBatch of a closing batch: no error")
	}
	open, _, err := s.Batches.Batches(ctx, paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchOpen, Limit: 10})
	if err != nil || len(open) != 1 || open[0].ID != next.ID || open[0].Number != b.Number+1 {
		t.Fatalf("open batches after the close: got %v %v, want %s", err, open, next.ID)
	}
	// The next close takes what came at or after the first.
	if _, err := assign(t, s, open[0], closeAt.Add(time.Hour)); err != nil {
		t.Fatalf("AssignBatch (next): %v", err)
	}
	if got := itemKeys(mustItems(t, s, next.ID)); fmt.Sprint(got) != fmt.Sprint(map[string]int64{"debit " + late.ID: 10000}) {
		t.Errorf("next batch's items: got %v, want the late capture only", got)
	}
	keys, err := s.Batches.Unbatched(ctx, "")
	want2 := fmt.Sprint([]paygate.BatchKey{{MerchantID: m.ID, Currency: MustCurrency(t, "EUR")}, {MerchantID: other.ID, Currency: MustCurrency(t, "USD")}})
	if m.ID > other.ID {
		want2 = fmt.Sprint([]paygate.BatchKey{{MerchantID: other.ID, Currency: MustCurrency(t, "USD")}, {MerchantID: m.ID, Currency: MustCurrency(t, "EUR")}})
	}
	if err != nil || fmt.Sprint(keys) != want2 {
		t.Errorf("Unbatched: got %v %v, want %s", keys, err, want2)
	}
	_ = theirs
}

// testAssignConcurrentCaptures captures payments while a close claims: each
// ends in exactly one batch, none in two, none left after the next close.
func testAssignConcurrentCaptures(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	const n = 40
	pays := make([]*paygate.Payment, n)
	for i := range pays {
		pays[i] = NewPayment(t, m.ID, Base)
		MustCreatePayment(t, s.Payments, pays[i])
	}
	b := mustOpenBatch(t, s, m.ID, "USD", Base)
	closeAt := Base.Add(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, p := range pays {
		wg.Go(func() {
			<-start
			// Half are captured before the close's instant, half after.
			at := closeAt.Add(time.Duration(i-n/2) * time.Millisecond)
			p.Status, p.AmountCaptured, p.CapturedAt, p.UpdatedAt = paygate.StatusCaptured, p.Amount, at, at
			errs[i] = s.Payments.UpdatePayment(t.Context(), p)
		})
	}
	var assignErr error
	wg.Go(func() {
		<-start
		_, assignErr = assign(t, s, b, closeAt)
	})
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("capture %d: %v", i, err)
		}
	}
	if assignErr != nil {
		t.Fatalf("AssignBatch: %v", assignErr)
	}
	next := mustOpenBatch(t, s, m.ID, "USD", closeAt)
	if _, err := assign(t, s, next, closeAt.Add(time.Hour)); err != nil {
		t.Fatalf("AssignBatch (next): %v", err)
	}
	seen := map[string]int{}
	first := mustItems(t, s, b.ID)
	for _, it := range append(first, mustItems(t, s, next.ID)...) {
		seen[it.PaymentID]++
	}
	for i, p := range pays {
		if seen[p.ID] != 1 {
			t.Errorf("payment %d: in %d batches, want 1", i, seen[p.ID])
		}
	}
	for _, it := range first {
		if !it.At.Before(closeAt) {
			t.Errorf("first batch holds %s captured at %s, not before its close", it.PaymentID, it.At)
		}
	}
	if b.Totals.DebitsCount != int64(len(first)) {
		t.Errorf("first batch totals count %d, items %d", b.Totals.DebitsCount, len(first))
	}
}

func testOpenBatchConcurrent(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	const n = 8
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			b, err := s.Batches.OpenBatch(t.Context(), m.ID, MustCurrency(t, "USD"), Base, Base.Add(time.Hour))
			if err == nil {
				ids[i] = b.ID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Errorf("OpenBatch %d: got %s %v, want %s", i, ids[i], errs[i], ids[0])
		}
	}
	list, _, err := s.Batches.Batches(t.Context(), paygate.BatchFilter{MerchantID: m.ID, Limit: 10})
	if err != nil || len(list) != 1 || list[0].Number != 1 {
		t.Errorf("batches: got %d %v, want one, number 1", len(list), err)
	}
	// Another currency is another batch.
	if eur := mustOpenBatch(t, s, m.ID, "EUR", Base); eur.ID == ids[0] || eur.Number != 1 {
		t.Errorf("EUR batch: got %s number %d, want a new one numbered 1", eur.ID, eur.Number)
	}
}

func testDueBatches(t *testing.T, s Stores) {
	ctx := t.Context()
	a := MustCreateMerchant(t, s.Merchants, "A")
	b := MustCreateMerchant(t, s.Merchants, "B")
	c := MustCreateMerchant(t, s.Merchants, "C")
	now := Base.Add(48 * time.Hour)
	due, err := s.Batches.OpenBatch(ctx, a.ID, MustCurrency(t, "USD"), Base, now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Batches.OpenBatch(ctx, b.ID, MustCurrency(t, "USD"), Base, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	stale := mustOpenBatch(t, s, c.ID, "USD", Base)
	if _, err := assign(t, s, stale, now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	fresh := mustOpenBatch(t, s, c.ID, "EUR", Base)
	if _, err := assign(t, s, fresh, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	list, err := s.Batches.DueBatches(ctx, now, now.Add(-time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]paygate.BatchStatus{}
	for _, x := range list {
		got[x.ID] = x.Status
	}
	want := map[string]paygate.BatchStatus{due.ID: paygate.BatchOpen, stale.ID: paygate.BatchClosing}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DueBatches: got %v, want %v (the due open one and the stale closing one)", got, want)
	}
	if list, err := s.Batches.DueBatches(ctx, now, now.Add(-time.Hour), 1); err != nil || len(list) != 1 {
		t.Errorf("DueBatches limit 1: got %d %v", len(list), err)
	}
}

// closedBatch makes a closing batch of one captured payment.
func closedBatch(t *testing.T, s Stores, m *paygate.Merchant, at time.Time) *paygate.Batch {
	t.Helper()
	capturedPayment(t, s, m.ID, at)
	b := mustOpenBatch(t, s, m.ID, "USD", at)
	if _, err := assign(t, s, b, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	return b
}

func newDeposit(b *paygate.Batch, fundingDate string, at time.Time) *paygate.Deposit {
	return &paygate.Deposit{ID: paygate.NewID("dep", at), BatchID: b.ID, MerchantID: b.MerchantID, Currency: b.Currency,
		Gross: b.Totals.DebitsAmount, Refunds: b.Totals.CreditsAmount, Fees: 320, Net: b.Totals.Net() - 320,
		FundingDate: fundingDate, FundingAt: mustDate(fundingDate), Status: paygate.DepositPending, Pricing: "blended:290:30", CreatedAt: at}
}

// mustDate is the start of a YYYY-MM-DD date in UTC.
func mustDate(date string) time.Time {
	t, err := time.Parse(time.DateOnly, date)
	if err != nil {
		panic(err)
	}
	return t
}

func testSettleBatch(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	b := closedBatch(t, s, m, Base)
	at := Base.Add(2 * time.Hour)
	d := newDeposit(b, "2026-01-05", at)
	stale := *b
	b.Status, b.Step, b.SettledAt, b.UpdatedAt = paygate.BatchSettled, paygate.StepDeposited, at, at
	if err := s.Batches.SettleBatch(ctx, b, d); err != nil {
		t.Fatalf("SettleBatch: %v", err)
	}
	got, err := s.Batches.Deposit(ctx, m.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	CheckEqual(t, "Deposit", got, d)
	stored, err := s.Batches.Batch(ctx, m.ID, b.ID)
	if err != nil || stored.Status != paygate.BatchSettled || !stored.SettledAt.Equal(at.Truncate(time.Microsecond)) || stored.Version != b.Version {
		t.Errorf("settled batch: got %v %+v", err, stored)
	}
	events, _, err := s.Events.Events(ctx, paygate.EventFilter{MerchantID: m.ID, Type: paygate.EventBatchSettled, Limit: 10})
	if err != nil || len(events) != 1 || events[0].Type != paygate.EventBatchSettled {
		t.Fatalf("batch.settled events: got %d %v, want 1", len(events), err)
	}
	var body paygate.EventBody
	if err := json.Unmarshal(events[0].Data, &body); err != nil || body.Data.BatchID != b.ID || body.Data.DepositID != d.ID ||
		body.Data.Amount != d.Net || body.Data.FundingDate != d.FundingDate {
		t.Errorf("batch.settled body: got %s %v", events[0].Data, err)
	}
	// A second settle (another node's, from a stale copy) writes nothing.
	stale.Status, stale.UpdatedAt = paygate.BatchSettled, at
	if err := s.Batches.SettleBatch(ctx, &stale, newDeposit(&stale, "2026-01-05", at)); !errors.Is(err, paygate.ErrVersionConflict) {
		t.Errorf("SettleBatch of a stale copy: got %v, want ErrVersionConflict", err)
	}
	if list, _, err := s.Batches.Deposits(ctx, paygate.BatchFilter{MerchantID: m.ID, Limit: 10}); err != nil || len(list) != 1 {
		t.Errorf("deposits after a lost settle: got %d %v, want 1", len(list), err)
	}
	if events, _, _ := s.Events.Events(ctx, paygate.EventFilter{MerchantID: m.ID, Type: paygate.EventBatchSettled, Limit: 10}); len(events) != 1 {
		t.Errorf("batch.settled events after a lost settle: got %d, want 1", len(events))
	}
}

func testPayDeposits(t *testing.T, s Stores) {
	ctx := t.Context()
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	at := Base.Add(2 * time.Hour)
	var deps []*paygate.Deposit
	for i, date := range []string{"2026-01-05", "2026-01-06", "2026-01-07"} {
		b := closedBatch(t, s, m, Base.Add(time.Duration(i)*3*time.Hour))
		d := newDeposit(b, date, at)
		b.Status, b.Step, b.SettledAt, b.UpdatedAt = paygate.BatchSettled, paygate.StepDeposited, at, at
		if err := s.Batches.SettleBatch(ctx, b, d); err != nil {
			t.Fatal(err)
		}
		deps = append(deps, d)
	}
	// Paid as their funding instants come: the second's is exactly now.
	paid, err := s.Batches.PayDeposits(ctx, deps[1].FundingAt)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, d := range paid {
		got[d.ID] = d.Status == paygate.DepositPaid && d.PaidAt.Equal(deps[1].FundingAt) && d.FundingAt.Equal(mustDate(d.FundingDate))
	}
	if fmt.Sprint(got) != fmt.Sprint(map[string]bool{deps[0].ID: true, deps[1].ID: true}) {
		t.Errorf("PayDeposits: got %v, want the first two paid", got)
	}
	if d, err := s.Batches.Deposit(ctx, m.ID, deps[2].ID); err != nil || d.Status != paygate.DepositPending {
		t.Errorf("deposit funded later: got %v %v, want pending", d, err)
	}
	if again, err := s.Batches.PayDeposits(ctx, deps[2].FundingAt.Add(-time.Microsecond)); err != nil || len(again) != 0 {
		t.Errorf("PayDeposits again: got %d %v, want none", len(again), err)
	}
	events, _, err := s.Events.Events(ctx, paygate.EventFilter{MerchantID: m.ID, Type: paygate.EventDepositPaid, Limit: 10})
	if err != nil || len(events) != 2 {
		t.Errorf("deposit.paid events: got %d %v, want 2", len(events), err)
	}
	list, _, err := s.Batches.Deposits(ctx, paygate.BatchFilter{MerchantID: m.ID, Status: paygate.BatchStatus(paygate.DepositPending), Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != deps[2].ID {
		t.Errorf("pending deposits: got %v %v", list, err)
	}
}

// testBatchFees: the store's sum of fees over a batch agrees with
// Pricing.Fee item by item, for amounts about every rounding edge, every
// brand of the interchange table and one not in it, and refunds (free).
func testBatchFees(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	b := mustOpenBatch(t, s, m.ID, "USD", Base)
	brands := []string{"visa", "mastercard", "amex", "discover", "jcb", "unionpay", "diners", "maestro"}
	amounts := []int64{1, 2, 3, 49, 50, 51, 99, 100, 101, 149, 150, 151, 333, 1000, 1234, 1999, 2000, 2001, 4999, 5000, 5001,
		9999, 10000, 10001, 12345, 33333, 50000, 99999, 123457, 999999, 1_000_000, 9_999_999, 99_999_999}
	for i := range 3 * len(amounts) {
		p := NewPayment(t, m.ID, Base.Add(time.Duration(i)*time.Second))
		p.Card.Brand = paygate.CardBrand(brands[i%len(brands)])
		p.Amount = amounts[i%len(amounts)] + int64(i/len(amounts))*7
		p.AmountCaptured, p.CaptureRequested, p.Status, p.CapturedAt = p.Amount, true, paygate.StatusCaptured, p.CreatedAt
		MustCreatePayment(t, s.Payments, p)
		if i%10 == 0 && p.Amount > 1 {
			r := newRefund(p, p.Amount/2, p.CreatedAt)
			MustSaveRefund(t, s.Payments, p, r)
			settle(p, r, paygate.RefundSucceeded, "00", p.CreatedAt)
			MustSaveRefund(t, s.Payments, p, r)
		}
	}
	if _, err := assign(t, s, b, Base.Add(24*time.Hour)); err != nil {
		t.Fatalf("AssignBatch: %v", err)
	}
	items := mustItems(t, s, b.ID)
	if b.Totals.CreditsCount == 0 || b.Totals.DebitsCount != int64(3*len(amounts)) {
		t.Fatalf("batch totals %+v: want %d debits and some credits", b.Totals, 3*len(amounts))
	}
	for _, p := range []paygate.Pricing{
		paygate.DefaultPricing,
		{Kind: paygate.PricingBlended, Percent: 0, Fixed: 0},
		{Kind: paygate.PricingBlended, Percent: 1, Fixed: 0},
		{Kind: paygate.PricingBlended, Percent: 333, Fixed: 7},
		{Kind: paygate.PricingBlended, Percent: 10000, Fixed: 1},
		{Kind: paygate.PricingInterchangePlus, Percent: 0, Fixed: 0},
		{Kind: paygate.PricingInterchangePlus, Percent: 25, Fixed: 10},
		{Kind: paygate.PricingInterchangePlus, Percent: 9999, Fixed: 3},
	} {
		var want int64
		for _, it := range items {
			want += p.Fee(it)
		}
		got, err := s.Batches.BatchFees(t.Context(), b.ID, p)
		if err != nil || got != want {
			t.Errorf("BatchFees(%s): got %d %v, want %d (Pricing.Fee over %d items)", p.Code(), got, err, want, len(items))
		}
	}
	if got, err := s.Batches.BatchFees(t.Context(), "bat_none", paygate.DefaultPricing); err != nil || got != 0 {
		t.Errorf("BatchFees of a batch without items: got %d %v, want 0", got, err)
	}
}

// testUnbatched: the merchants and currencies with approved transactions in
// no batch, each once however many it has, from payments and from refunds
// alike, for all merchants or one; what is not approved, or is batched,
// does not count. Past the keys the store seeks one by one (32 a table in
// package sqlstore), 40 merchants more are read all at once.
func testUnbatched(t *testing.T, s Stores) {
	ctx := t.Context()
	var ms []*paygate.Merchant
	for _, name := range []string{"Acme", "Bolt", "Cove", "Dune"} {
		ms = append(ms, MustCreateMerchant(t, s.Merchants, name))
	}
	// Sorted by ID, so that b (refunds only) sits between a and d, which
	// have payments.
	slices.SortFunc(ms, func(x, y *paygate.Merchant) int { return strings.Compare(x.ID, y.ID) })
	a, b, c, d := ms[0], ms[1], ms[2], ms[3]
	captured := func(merchantID, currency string, at time.Time) *paygate.Payment {
		p := NewPayment(t, merchantID, at)
		p.Currency, p.AmountCaptured, p.Status, p.CapturedAt = MustCurrency(t, currency), p.Amount, paygate.StatusCaptured, at
		MustCreatePayment(t, s.Payments, p)
		return p
	}
	refunded := func(p *paygate.Payment, status paygate.RefundStatus, at time.Time) {
		r := newRefund(p, 500, at)
		MustSaveRefund(t, s.Payments, p, r)
		rc := "00"
		if status != paygate.RefundSucceeded {
			rc = "05"
		}
		settle(p, r, status, rc, at)
		MustSaveRefund(t, s.Payments, p, r)
	}
	for i := range 3 {
		captured(a.ID, "USD", Base.Add(time.Duration(i)*time.Minute))
	}
	eur := captured(a.ID, "EUR", Base)
	refunded(eur, paygate.RefundSucceeded, Base.Add(time.Minute)) // EUR in both tables: listed once
	refunded(captured(a.ID, "USD", Base), paygate.RefundFailed, Base.Add(time.Minute))
	authorized := NewPayment(t, a.ID, Base) // never captured
	authorized.Currency = MustCurrency(t, "GBP")
	MustCreatePayment(t, s.Payments, authorized)
	voided := NewPayment(t, a.ID, Base)
	voided.Currency, voided.Status = MustCurrency(t, "JPY"), paygate.StatusVoided
	MustCreatePayment(t, s.Payments, voided)
	MustCreatePayment(t, s.Payments, NewPayment(t, c.ID, Base)) // c: authorized only
	captured(d.ID, "CHF", Base)
	captured(d.ID, "USD", Base)
	// b's Canadian sale is claimed by a close; its refund, after the close,
	// is not: b's CAD is listed for the refund alone.
	cad := captured(b.ID, "CAD", Base)
	if _, err := assign(t, s, mustOpenBatch(t, s, b.ID, "CAD", Base), Base.Add(time.Hour)); err != nil {
		t.Fatalf("AssignBatch: %v", err)
	}
	refunded(MustPayment(t, s.Payments, b.ID, cad.ID), paygate.RefundSucceeded, Base.Add(2*time.Hour))

	key := func(m *paygate.Merchant, code string) paygate.BatchKey {
		return paygate.BatchKey{MerchantID: m.ID, Currency: MustCurrency(t, code)}
	}
	sorted := func(keys []paygate.BatchKey) []paygate.BatchKey {
		slices.SortFunc(keys, func(x, y paygate.BatchKey) int {
			if n := strings.Compare(x.MerchantID, y.MerchantID); n != 0 {
				return n
			}
			return strings.Compare(x.Currency.Code, y.Currency.Code)
		})
		return keys
	}
	all := sorted([]paygate.BatchKey{key(a, "EUR"), key(a, "USD"), key(b, "CAD"), key(d, "CHF"), key(d, "USD")})
	check := func(merchantID string, want []paygate.BatchKey) {
		t.Helper()
		got, err := s.Batches.Unbatched(ctx, merchantID)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("Unbatched(%q): got %v %v, want %v", merchantID, got, err, want)
		}
	}
	check("", all)
	check(a.ID, []paygate.BatchKey{key(a, "EUR"), key(a, "USD")})
	check(b.ID, []paygate.BatchKey{key(b, "CAD")})
	check(c.ID, nil)
	check(d.ID, []paygate.BatchKey{key(d, "CHF"), key(d, "USD")})

	// 40 merchants more, two of them with a second currency: more keys
	// than the store seeks one by one.
	many := slices.Clone(all)
	for i := range 40 {
		m := MustCreateMerchant(t, s.Merchants, fmt.Sprintf("Shop %d", i))
		captured(m.ID, "USD", Base)
		many = append(many, key(m, "USD"))
		if i%20 == 0 {
			captured(m.ID, "EUR", Base)
			captured(m.ID, "EUR", Base.Add(time.Minute))
			many = append(many, key(m, "EUR"))
		}
	}
	check("", sorted(many))
	check(a.ID, []paygate.BatchKey{key(a, "EUR"), key(a, "USD")})
}
