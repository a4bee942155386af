package paygate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

func TestNextCutoff(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name, zone, cutoff string
		at                 string
		want               string
	}{
		{"default UTC", "", "", "2025-06-10T12:00:00Z", "2025-06-10T23:59:00Z"},
		{"after today's: tomorrow", "", "18:00", "2025-06-10T18:00:00Z", "2025-06-11T18:00:00Z"},
		{"New York, summer", "America/New_York", "17:00", "2025-06-10T12:00:00Z", "2025-06-10T21:00:00Z"},
		{"New York, winter", "America/New_York", "17:00", "2025-01-10T12:00:00Z", "2025-01-10T22:00:00Z"},
		// 2025-03-09: clocks go from 02:00 to 03:00 in New York.
		{"spring forward day", "America/New_York", "23:59", "2025-03-09T12:00:00Z", "2025-03-10T03:59:00Z"},
		{"spring forward, before the change", "America/New_York", "23:59", "2025-03-09T04:00:00Z", "2025-03-09T04:59:00Z"},
		{"02:30 skipped on spring forward", "America/New_York", "02:30", "2025-03-09T05:00:00Z", "2025-03-09T07:00:00Z"},
		{"02:30 the day after", "America/New_York", "02:30", "2025-03-09T08:00:00Z", "2025-03-10T06:30:00Z"},
		// 2025-11-02: clocks go from 02:00 back to 01:00.
		{"fall back day", "America/New_York", "23:59", "2025-11-02T12:00:00Z", "2025-11-03T04:59:00Z"},
		{"fall back, 01:30 happens twice: the first", "America/New_York", "01:30", "2025-11-02T04:00:00Z", "2025-11-02T05:30:00Z"},
		{"Kolkata, half-hour offset", "Asia/Kolkata", "23:59", "2025-06-10T12:00:00Z", "2025-06-10T18:29:00Z"},
		{"Kolkata, past today's", "Asia/Kolkata", "23:59", "2025-06-10T19:00:00Z", "2025-06-11T18:29:00Z"},
	}
	for _, tt := range tests {
		m := &paygate.Merchant{TimeZone: tt.zone, Cutoff: tt.cutoff}
		got := m.NextCutoff(utc(tt.at))
		if !got.Equal(utc(tt.want)) {
			t.Errorf("%s: NextCutoff(%s) = %s, want %s", tt.name, tt.at, got.Format(time.RFC3339), tt.want)
		}
		if !got.After(utc(tt.at)) {
			t.Errorf("%s: NextCutoff(%s) = %s, not after", tt.name, tt.at, got.Format(time.RFC3339))
		}
	}
}

// settleEnv is a gateway on SQLite (or PostgreSQL) with a fake settler.
type settleEnv struct {
	*gatewaytest.Gateway
	settler *gatewaytest.Settler
}

func openSettle(t *testing.T, pg string) *settleEnv {
	t.Helper()
	g := gatewaytest.MustOpen(t, gatewaytest.Options{Postgres: pg, Quiet: true})
	s := gatewaytest.NewSettler(g.Gateway)
	g.Gateway.Settler = s
	return &settleEnv{g, s}
}

const visa = "4242424242424242"

func (e *settleEnv) pay(t *testing.T, amount int64, capture bool) *paygate.Payment {
	t.Helper()
	p, err := e.Gateway.Gateway.CreatePayment(t.Context(), e.Merchant, paygate.PaymentRequest{Amount: amount, Currency: "USD",
		Card: &paygate.Card{Number: visa, ExpMonth: 12, ExpYear: time.Now().Year() + 3, CVC: "123"}, Capture: capture})
	if err != nil {
		t.Fatalf("pay %d: %v", amount, err)
	}
	return p
}

func (e *settleEnv) close(t *testing.T) (*paygate.Batch, *paygate.Deposit) {
	t.Helper()
	g := e.Gateway.Gateway
	usd, _ := paygate.LookupCurrency("USD")
	b, err := g.OpenBatch(t.Context(), e.Merchant, usd)
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(time.Second) // what was approved is before the close
	b, d, err := g.CloseBatch(t.Context(), e.Merchant, b.ID)
	if err != nil {
		t.Fatalf("close batch: %v", err)
	}
	return b, d
}

func TestCloseBatch(t *testing.T) { gatewaytest.Engines(t, testCloseBatch) }

func testCloseBatch(t *testing.T, pg string) {
	e := openSettle(t, pg)
	g, ctx := e.Gateway.Gateway, t.Context()
	sale := e.pay(t, 10000, true)
	auth := e.pay(t, 5000, false)
	if _, err := g.Capture(ctx, e.Merchant, auth.ID, 3000); err != nil {
		t.Fatal(err)
	}
	voided := e.pay(t, 700, true)
	if _, err := g.Void(ctx, e.Merchant, voided.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.Refund(ctx, e.Merchant, sale.ID, 2500, "", ""); err != nil {
		t.Fatal(err)
	}
	uncaptured := e.pay(t, 900, false)

	b, d := e.close(t)
	want := paygate.Totals{DebitsCount: 2, DebitsAmount: 13000, CreditsCount: 1, CreditsAmount: 2500}
	if b.Status != paygate.BatchSettled || b.Totals != want {
		t.Fatalf("batch: got %s %+v, want settled %+v", b.Status, b.Totals, want)
	}
	if d == nil {
		t.Fatal("no deposit")
	}
	fee := paygate.DefaultPricing.Fee(&paygate.BatchItem{Kind: "debit", Amount: 10000}) +
		paygate.DefaultPricing.Fee(&paygate.BatchItem{Kind: "debit", Amount: 3000})
	if d.Gross != 13000 || d.Refunds != 2500 || d.Fees != fee || d.Net != 13000-2500-fee {
		t.Errorf("deposit: got %+v, want gross 13000 refunds 2500 fees %d", d, fee)
	}
	if d.Net != e.settler.Funded() {
		t.Errorf("deposit net %d, acquirer funded %d", d.Net, e.settler.Funded())
	}
	// The void and the authorization stay out; the sale can no longer be voided.
	if _, err := g.Void(ctx, e.Merchant, sale.ID); paygate.ErrorCode(err) != paygate.ECONFLICT {
		t.Errorf("void of a batched sale: got %v, want a conflict", err)
	}
	if _, err := g.Capture(ctx, e.Merchant, uncaptured.ID, 0); err != nil {
		t.Fatal(err)
	}
	b2, _ := e.close(t)
	if b2.Number != b.Number+1 || b2.Totals.DebitsCount != 1 || b2.Totals.DebitsAmount != 900 {
		t.Errorf("next batch: got number %d totals %+v, want %d with the late capture", b2.Number, b2.Totals, b.Number+1)
	}
	// A refund of a payment settled in an earlier batch is a credit in the next.
	if _, err := g.Refund(ctx, e.Merchant, sale.ID, 1000, "", ""); err != nil {
		t.Fatal(err)
	}
	b3, d3 := e.close(t)
	if b3.Totals != (paygate.Totals{CreditsCount: 1, CreditsAmount: 1000}) || d3.Net != -1000 {
		t.Errorf("refund's batch: got %+v, deposit %+v; want one credit of 1000", b3.Totals, d3)
	}
	items, err := g.Batches.BatchItems(ctx, b.ID, "", 100)
	if err != nil || len(items) != 3 {
		t.Fatalf("items: got %d, %v; want 3", len(items), err)
	}
	for _, it := range items {
		if it.CardLast4 != "4242" || it.CardBrand != "visa" || it.RRN == "" {
			t.Errorf("item %+v: want visa 4242 with an RRN", it)
		}
	}
}

func TestCloseOutOfBalance(t *testing.T) { gatewaytest.Engines(t, testCloseOutOfBalance) }

func testCloseOutOfBalance(t *testing.T, pg string) {
	e := openSettle(t, pg)
	g, ctx := e.Gateway.Gateway, t.Context()
	lost := e.pay(t, 1000, true)
	e.pay(t, 2000, true)
	e.settler.Lose(lost.RRN)
	b, d := e.close(t)
	if b.Status != paygate.BatchSettled || d == nil {
		t.Fatalf("lost transaction: got %s, want settled after the upload", b.Status)
	}
	if e.settler.Uploads != 2 {
		t.Errorf("uploads: got %d, want 2", e.settler.Uploads)
	}

	changed := e.pay(t, 3000, true)
	e.settler.Change(changed.RRN, 2999)
	b, d = e.close(t)
	if b.Status != paygate.BatchOutOfBalance || d != nil {
		t.Fatalf("changed amount: got %s, want out_of_balance", b.Status)
	}
	if len(b.Differences) != 1 || b.Differences[0].RRN != changed.RRN || b.Differences[0].Kind != "amount_differs" {
		t.Errorf("differences: got %+v, want %s amount_differs", b.Differences, changed.RRN)
	}
	if _, _, err := g.AcceptBatch(ctx, e.Merchant, b.ID, " "); paygate.ErrorCode(err) != paygate.EMISSING {
		t.Errorf("accept without a reason: got %v, want %s", err, paygate.EMISSING)
	}
	b, _, err := g.ResendBatch(ctx, e.Merchant, b.ID)
	if err != nil || b.Status != paygate.BatchOutOfBalance {
		t.Fatalf("resend: got %v %v, want still out of balance", b.Status, err)
	}
	b, d, err = g.AcceptBatch(ctx, e.Merchant, b.ID, "Acquirer confirmed by phone, ticket 42")
	if err != nil || b.Status != paygate.BatchSettled || b.Resolution == "" || d == nil || d.Gross != 3000 {
		t.Fatalf("accept: got %v %+v %+v, want settled with the resolution", err, b, d)
	}
	events, _, err := g.Events.Events(ctx, paygate.EventFilter{MerchantID: e.Merchant.ID, Type: paygate.EventBatchOutOfBalance, Limit: 10})
	if err != nil || len(events) != 2 {
		t.Errorf("out-of-balance events: got %d, %v; want 2 (close, resend)", len(events), err)
	}
}

// failingBatches fails the n-th write of a close.
type failingBatches struct {
	paygate.BatchStore
	n, calls int
}

var errKilled = errors.New("killed")

func (f *failingBatches) fail() error {
	f.calls++
	if f.calls == f.n {
		return errKilled
	}
	return nil
}

func (f *failingBatches) AssignBatch(ctx context.Context, b, next *paygate.Batch) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.BatchStore.AssignBatch(ctx, b, next)
}

func (f *failingBatches) UpdateBatch(ctx context.Context, b *paygate.Batch) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.BatchStore.UpdateBatch(ctx, b)
}

func (f *failingBatches) SettleBatch(ctx context.Context, b *paygate.Batch, d *paygate.Deposit) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.BatchStore.SettleBatch(ctx, b, d)
}

func TestCloseKilledAtEveryStep(t *testing.T) {
	// Writes of a close with one lost transaction: assign, reconciled, settle.
	for n := 1; n <= 3; n++ {
		for _, op := range []string{"", "reconcile", "upload"} {
			e := openSettle(t, "")
			g, ctx := e.Gateway.Gateway, t.Context()
			lost := e.pay(t, 1000, true)
			e.pay(t, 2000, true)
			e.settler.Lose(lost.RRN)
			real := g.Batches
			g.Batches = &failingBatches{BatchStore: real, n: n}
			if op != "" {
				once := false
				e.settler.Fail = func(o string) error {
					if o == op && !once {
						once = true
						return errKilled
					}
					return nil
				}
			}
			usd, _ := paygate.LookupCurrency("USD")
			b, err := g.OpenBatch(ctx, e.Merchant, usd)
			if err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(time.Second)
			_, _, err = g.CloseBatch(ctx, e.Merchant, b.ID)
			if err == nil && op == "" {
				t.Errorf("write %d: the close did not fail", n)
			}
			// Another node takes over once the close is stale.
			g.Batches = real
			e.Clock.Advance(25 * time.Hour) // past the cut-off and InDoubtAfter
			for i := 0; i < 3; i++ {        // a failed message leaves the close for a later round
				if _, err := g.CloseDueBatches(ctx); err != nil && !errors.Is(err, errKilled) {
					t.Fatalf("write %d %s: resume: %v", n, op, err)
				}
				e.Clock.Advance(time.Hour)
			}
			b, err = g.Batches.Batch(ctx, e.Merchant.ID, b.ID)
			if err != nil || b.Status != paygate.BatchSettled {
				t.Fatalf("write %d %s: got %v %v, want settled", n, op, b.Status, err)
			}
			deps, _, err := g.Batches.Deposits(ctx, paygate.BatchFilter{MerchantID: e.Merchant.ID, Limit: 10})
			if err != nil || len(deps) != 1 || deps[0].Gross != 3000 {
				t.Errorf("write %d %s: deposits %v %v, want one of 3000 gross", n, op, deps, err)
			}
			if f := e.settler.Funded(); len(deps) == 1 && f != deps[0].Net {
				t.Errorf("write %d %s: funded %d, deposit %d", n, op, f, deps[0].Net)
			}
			all, _, _ := g.Batches.Batches(ctx, paygate.BatchFilter{MerchantID: e.Merchant.ID, Limit: 10})
			if len(all) != 2 || all[0].Status != paygate.BatchOpen {
				t.Errorf("write %d %s: got %d batches, want the settled one and one open", n, op, len(all))
			}
		}
	}
}

func TestCloseTwoNodes(t *testing.T) { gatewaytest.Engines(t, testCloseTwoNodes) }

func testCloseTwoNodes(t *testing.T, pg string) {
	nodes := gatewaytest.MustOpenNodes(t, 2, gatewaytest.Options{Postgres: pg})
	s := gatewaytest.NewSettler(nodes[0].Gateway)
	for _, n := range nodes {
		n.Gateway.Settler = s
	}
	e := &settleEnv{nodes[0], s}
	for i := 0; i < 5; i++ {
		e.pay(t, int64(100*(i+1)), true)
	}
	usd, _ := paygate.LookupCurrency("USD")
	b, err := nodes[0].Gateway.OpenBatch(t.Context(), e.Merchant, usd)
	if err != nil {
		t.Fatal(err)
	}
	nodes[0].Clock.Advance(25 * time.Hour) // past the cut-off
	errs := make(chan error, 2)
	for _, n := range nodes {
		go func() { _, err := n.Gateway.CloseDueBatches(t.Context()); errs <- err }()
	}
	for range nodes {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	b, err = nodes[1].Gateway.Batches.Batch(t.Context(), e.Merchant.ID, b.ID)
	if err != nil || b.Status != paygate.BatchSettled || b.Totals.DebitsCount != 5 {
		t.Fatalf("got %v %+v, want settled with 5", err, b)
	}
	deps, _, _ := nodes[0].Gateway.Batches.Deposits(t.Context(), paygate.BatchFilter{MerchantID: e.Merchant.ID, Limit: 10})
	if len(deps) != 1 || s.Funded() != deps[0].Net {
		t.Errorf("deposits: got %d (funded %d), want one", len(deps), s.Funded())
	}
}

// A deposit is paid when its funding day starts in the merchant's time
// zone: Tokyo's midnight comes nine hours before UTC's, and the deposit with
// it, not a moment sooner.
func TestDepositPaidAtLocalMidnight(t *testing.T) {
	e := openSettle(t, "")
	g, ctx := e.Gateway.Gateway, t.Context()
	tz := "Asia/Tokyo"
	m, err := g.UpdateSettings(ctx, e.Merchant.ID, paygate.SettingsUpdate{TimeZone: &tz, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e.Merchant = m
	e.pay(t, 5000, true)
	_, d := e.close(t)
	tokyo, _ := time.LoadLocation(tz)
	start, err := time.ParseInLocation(time.DateOnly, d.FundingDate, tokyo)
	if err != nil || !d.FundingAt.Equal(start) {
		t.Fatalf("deposit funding: date %s at %s, want the start of that day in Tokyo (%s)", d.FundingDate, d.FundingAt, start)
	}
	if wd := start.Weekday(); wd == time.Saturday || wd == time.Sunday {
		t.Errorf("funding date %s is a %s", d.FundingDate, wd)
	}
	e.Clock.Advance(start.Sub(e.Clock.Now()) - time.Second)
	if n, err := g.PayDeposits(ctx); err != nil || n != 0 {
		t.Fatalf("a second before Tokyo's midnight: paid %d (%v), want 0", n, err)
	}
	e.Clock.Advance(time.Second)
	if n, err := g.PayDeposits(ctx); err != nil || n != 1 {
		t.Fatalf("at Tokyo's midnight (%s UTC): paid %d (%v), want 1", start.UTC().Format(time.RFC3339), n, err)
	}
	paid, err := g.Batches.Deposit(ctx, m.ID, d.ID)
	if err != nil || paid.Status != paygate.DepositPaid {
		t.Errorf("deposit after: got %+v %v, want paid", paid, err)
	}
}
