package gatewaytest

import (
	"testing"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/bank"
)

// CheckLedger compares the bank's accounts with the gateway's records of
// all the payments made on cards (test card numbers), card by card: what
// the bank posted since it had before[pan] posted is what the gateway
// recorded as captured less refunded, and the bank holds exactly the
// authorizations the gateway has open, each once, under its RRN, for its
// amount.
//
// The bank posts at clearing (end-of-day settlement), so CheckLedger first
// clears everything the bank has recorded (bank.ClearAll): the invariant
// is the one that holds after settlement. Call it once the payments are
// done with.
func CheckLedger(tb testing.TB, b *bank.Bank, all []*paygate.Payment, cards []string, before map[string]int64) {
	tb.Helper()
	b.ClearAll()
	posted, holds := map[string]int64{}, map[string]map[string]int64{}
	for _, pan := range cards {
		holds[pan] = map[string]int64{}
	}
	for _, p := range all {
		pan := ""
		for _, c := range cards {
			if c[:6] == p.Card.First6 && c[len(c)-4:] == p.Card.Last4 {
				pan = c
			}
		}
		if pan == "" {
			tb.Errorf("payment %s is on a card (%s…%s) not among those checked", p.ID, p.Card.First6, p.Card.Last4)
			continue
		}
		switch p.Status {
		case paygate.StatusCaptured, paygate.StatusPartiallyRefunded, paygate.StatusRefunded:
			posted[pan] += p.AmountCaptured - p.AmountRefunded
		case paygate.StatusAuthorized:
			holds[pan][p.RRN] = p.Amount
		}
	}
	for _, pan := range cards {
		a, _ := b.Account(pan)
		if got := before[pan] - a.Posted; got != posted[pan] {
			tb.Errorf("card %s…: the bank posted %d, the gateway recorded %d", pan[:6], got, posted[pan])
		}
		if len(a.Holds) != len(holds[pan]) {
			tb.Errorf("card %s…: the bank has %d holds, the gateway %d open authorizations", pan[:6], len(a.Holds), len(holds[pan]))
		}
		var held int64
		for rrn, amount := range holds[pan] {
			held += amount
			if a.Holds[rrn] != amount {
				tb.Errorf("card %s…: RRN %s held %d at the bank, want %d", pan[:6], rrn, a.Holds[rrn], amount)
			}
		}
		if a.Held != held {
			tb.Errorf("card %s…: the bank holds %d, the gateway has %d authorized", pan[:6], a.Held, held)
		}
	}
}
