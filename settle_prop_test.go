package paygate_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/gatewaytest"
)

// TestSettlementInvariants runs random sequences of operations (sales,
// authorizations, partial and full captures, voids, partial refunds,
// closes through the fake acquirer), each from a fixed seed so that a
// failure repeats, and checks the money invariants after each close and at
// the end:
//   - refunded ≤ captured ≤ authorized, per payment;
//   - a batch's net is its debits − credits, and its totals are its items';
//   - a deposit's net is its batch's net − fees (the fees of its items);
//   - the deposits add up to what the acquirer funded;
//   - every captured payment and succeeded refund is in exactly one batch,
//     for the amount captured (refunded).
func TestSettlementInvariants(t *testing.T) {
	gatewaytest.Engines(t, func(t *testing.T, pg string) {
		for _, seed := range []uint64{1, 2, 3, 7, 42, 2026} {
			t.Run("seed", func(t *testing.T) { testSettlementInvariants(t, pg, seed) })
		}
	})
}

func testSettlementInvariants(t *testing.T, pg string, seed uint64) {
	e := openSettle(t, pg)
	g, ctx := e.Gateway.Gateway, t.Context()
	rng := rand.New(rand.NewPCG(seed, seed^0x5e771e))
	var pays []*paygate.Payment
	pick := func() *paygate.Payment {
		if len(pays) == 0 {
			return nil
		}
		return pays[rng.IntN(len(pays))]
	}
	// expected says whether an error of an operation is one the gateway
	// may rightly answer (a state that does not allow it).
	expected := func(op string, err error) {
		t.Helper()
		if err != nil && (paygate.ErrorCode(err) == "" || paygate.ErrorCode(err) == paygate.EINTERNAL) {
			t.Fatalf("seed %d %s: %v", seed, op, err)
		}
	}
	closes := 0
	for step := 0; step < 80; step++ {
		switch op := rng.IntN(10); {
		case op < 2: // a sale
			pays = append(pays, e.pay(t, 100+rng.Int64N(20000), true))
		case op < 4: // an authorization
			pays = append(pays, e.pay(t, 100+rng.Int64N(20000), false))
		case op < 6: // a capture, partial or full
			if p := pick(); p != nil {
				amount := int64(0)
				if rng.IntN(2) == 0 {
					amount = 1 + rng.Int64N(p.Amount)
				}
				_, err := g.Capture(ctx, e.Merchant, p.ID, amount)
				expected("capture", err)
			}
		case op < 7: // a void
			if p := pick(); p != nil {
				_, err := g.Void(ctx, e.Merchant, p.ID)
				expected("void", err)
			}
		case op < 9: // a partial refund
			if p := pick(); p != nil {
				cur, err := g.Payments.Payment(ctx, e.Merchant.ID, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				if left := cur.AmountCaptured - cur.AmountRefunded; left > 0 {
					_, err = g.Refund(ctx, e.Merchant, p.ID, 1+rng.Int64N(left), "", "")
					expected("refund", err)
				}
			}
		default:
			e.close(t)
			closes++
			checkSettlement(t, e, seed, false)
		}
		e.Clock.Advance(time.Duration(1+rng.IntN(120)) * time.Second)
	}
	e.close(t) // what is left goes in the last batch
	checkSettlement(t, e, seed, true)
	if closes == 0 || len(pays) == 0 {
		t.Errorf("seed %d: %d closes, %d payments: the sequence tested little", seed, closes, len(pays))
	}
}

// checkSettlement checks the invariants; final, after the last close, that
// everything approved is in a batch.
func checkSettlement(t *testing.T, e *settleEnv, seed uint64, final bool) {
	t.Helper()
	g, ctx := e.Gateway.Gateway, t.Context()
	m := e.Merchant
	debits := map[string]int64{}  // payment → amount batched
	credits := map[string]int64{} // refund → amount batched
	seen := map[string]int{}
	var funded int64
	batches, _, err := g.Batches.Batches(ctx, paygate.BatchFilter{MerchantID: m.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	deposits, _, err := g.Batches.Deposits(ctx, paygate.BatchFilter{MerchantID: m.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	byBatch := map[string]*paygate.Deposit{}
	for _, d := range deposits {
		byBatch[d.BatchID] = d
		funded += d.Net
	}
	for _, b := range batches {
		if b.Status == paygate.BatchOpen {
			continue
		}
		if b.Status != paygate.BatchSettled {
			t.Fatalf("seed %d: batch %d is %s", seed, b.Number, b.Status)
		}
		items, err := g.Batches.BatchItems(ctx, b.ID, "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		var sum paygate.Totals
		var fees int64
		for _, it := range items {
			switch it.Kind {
			case "debit":
				sum.DebitsCount, sum.DebitsAmount = sum.DebitsCount+1, sum.DebitsAmount+it.Amount
				debits[it.PaymentID] += it.Amount
				seen["p "+it.PaymentID]++
			case "credit":
				sum.CreditsCount, sum.CreditsAmount = sum.CreditsCount+1, sum.CreditsAmount+it.Amount
				credits[it.RefundID] += it.Amount
				seen["r "+it.RefundID]++
			}
			fees += m.EffectivePricing().Fee(it)
		}
		if b.Totals != sum || b.Totals.Net() != sum.DebitsAmount-sum.CreditsAmount {
			t.Errorf("seed %d batch %d: totals %+v, items add up to %+v", seed, b.Number, b.Totals, sum)
		}
		d := byBatch[b.ID]
		if d == nil {
			t.Fatalf("seed %d batch %d: settled without a deposit", seed, b.Number)
		}
		if d.Gross != sum.DebitsAmount || d.Refunds != sum.CreditsAmount || d.Fees != fees || d.Net != b.Totals.Net()-fees {
			t.Errorf("seed %d batch %d: deposit %+v, want gross %d refunds %d fees %d net %d", seed, b.Number, d,
				sum.DebitsAmount, sum.CreditsAmount, fees, b.Totals.Net()-fees)
		}
	}
	if final {
		t.Logf("seed %d: %d batches, %d debits, %d credits, funded %d", seed, len(batches), len(debits), len(credits), funded)
	}
	if got := e.settler.Funded(); got != funded {
		t.Errorf("seed %d: deposits add up to %d, the acquirer funded %d", seed, funded, got)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("seed %d: %s is in %d batch items, want 1", seed, k, n)
		}
	}
	list, _, err := g.Payments.Payments(ctx, paygate.PaymentFilter{MerchantID: m.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range list {
		authorized := p.Amount
		if p.Status == paygate.StatusDeclined {
			authorized = 0
		}
		if p.AmountRefunded < 0 || p.AmountRefunded > p.AmountCaptured || p.AmountCaptured > authorized {
			t.Errorf("seed %d payment %s (%s): refunded %d, captured %d, authorized %d", seed, p.ID, p.Status,
				p.AmountRefunded, p.AmountCaptured, authorized)
		}
		if got, ok := debits[p.ID]; ok && got != p.AmountCaptured {
			t.Errorf("seed %d payment %s: batched %d, captured %d", seed, p.ID, got, p.AmountCaptured)
		}
		if final && p.AmountCaptured > 0 && p.Status != paygate.StatusVoided && debits[p.ID] == 0 {
			t.Errorf("seed %d payment %s (%s, captured %d): in no batch", seed, p.ID, p.Status, p.AmountCaptured)
		}
		for _, r := range p.Refunds {
			got, ok := credits[r.ID]
			switch {
			case ok && (r.Status != paygate.RefundSucceeded || got != r.Amount):
				t.Errorf("seed %d refund %s (%s %d): batched %d", seed, r.ID, r.Status, r.Amount, got)
			case final && !ok && r.Status == paygate.RefundSucceeded:
				t.Errorf("seed %d refund %s: succeeded, in no batch", seed, r.ID)
			}
		}
	}
}
