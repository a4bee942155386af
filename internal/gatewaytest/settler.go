package gatewaytest

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/paygate/paygate"
)

// Settler is a fake acquirer's settlement side (paygate.Settler) for tests
// of the close. What it "recorded" for a batch is the gateway's batch items
// (read from the stores), less what Lose took away and with the amounts
// Change set; an upload (0320) gives it back what it lost, but not what it
// changed. In balance it clears the batch once (a 0500 sent again for a
// batch number it cleared gets the same answer) and funds the deposit,
// computing the fees with paygate.ParsePricing(code).Fee as the bank does.
type Settler struct {
	Merchants paygate.MerchantStore
	Batches   paygate.BatchStore
	// Fail, if set, is asked before each message ("reconcile",
	// "upload"): an error it returns is the message's.
	Fail func(op string) error

	mu       sync.Mutex
	lost     map[string]bool
	changed  map[string]int64
	uploaded map[string]map[string]bool // currency/batch number → RRNs uploaded (one merchant per fake)
	cleared  map[string]paygate.ReconcileResponse
	funded   int64
	// records are batches as the acquirer itself recorded them (Record),
	// compared without reading the gateway's database back.
	records map[string]record
	// Reconciles and Uploads count the messages received.
	Reconciles, Uploads int
}

// NewSettler returns a fake settler reading the gateway's stores.
func NewSettler(g *paygate.Gateway) *Settler {
	return &Settler{Merchants: g.Merchants, Batches: g.Batches}
}

// Lose makes the acquirer forget a transaction (until it is uploaded).
func (s *Settler) Lose(rrn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lost == nil {
		s.lost = map[string]bool{}
	}
	s.lost[rrn] = true
}

// Change makes the acquirer record another amount for a transaction.
func (s *Settler) Change(rrn string, amount int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = map[string]int64{}
	}
	s.changed[rrn] = amount
}

// Fix forgets every fault injected: the acquirer's records are right again.
func (s *Settler) Fix() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost, s.changed = nil, nil
}

// Funded returns the sum of what the acquirer funded.
func (s *Settler) Funded() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.funded
}

// batchKey names a batch as the acquirer knows it: a merchant numbers its
// batches per currency.
// record is what the acquirer recorded of one batch: its totals and fees.
type record struct {
	totals paygate.Totals
	fees   int64
}

// Record tells the fake acquirer what it approved for a merchant's batch
// (by the merchant's acquirer id, the currency and the batch number), as a
// real acquirer keeps its own totals as it approves: its 0500 for that
// batch compares with these instead of reading the gateway's items back
// (the benchmark's large batches).
func (s *Settler) Record(acquirerID string, c paygate.Currency, number int64, totals paygate.Totals, fees int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = map[string]record{}
	}
	s.records[acquirerID+"/"+batchKey(c, number)] = record{totals, fees}
}

func batchKey(c paygate.Currency, number int64) string { return fmt.Sprintf("%s/%d", c.Code, number) }

// eachItem calls fn with each of the gateway's items of the merchant's
// batch of the currency with the number, a page at a time (the fake holds
// no more of a large batch in memory than the bank would).
func (s *Settler) eachItem(ctx context.Context, acquirerID string, c paygate.Currency, number int64, fn func(*paygate.BatchItem)) error {
	ms, err := s.Merchants.Merchants(ctx)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.AcquirerID != acquirerID {
			continue
		}
		after := ""
		for {
			list, more, err := s.Batches.Batches(ctx, paygate.BatchFilter{MerchantID: m.ID, Limit: 100, StartingAfter: after})
			if err != nil {
				return err
			}
			for _, b := range list {
				if b.Number == number && b.Currency.Code == c.Code {
					rrn := ""
					for {
						page, err := s.Batches.BatchItems(ctx, b.ID, rrn, 10000)
						if err != nil {
							return err
						}
						for _, it := range page {
							fn(it)
						}
						if len(page) < 10000 {
							return nil
						}
						rrn = page[len(page)-1].RRN
					}
				}
			}
			if !more {
				return fmt.Errorf("no batch %d of %s", number, acquirerID)
			}
			after = list[len(list)-1].ID
		}
	}
	return fmt.Errorf("no merchant %s", acquirerID)
}

// Reconcile answers a 0500.
func (s *Settler) Reconcile(ctx context.Context, r paygate.ReconcileRequest) (paygate.ReconcileResponse, error) {
	s.mu.Lock()
	s.Reconciles++
	fail := s.Fail
	key := r.MerchantID + "/" + batchKey(r.Currency, r.BatchNumber)
	ukey := batchKey(r.Currency, r.BatchNumber)
	resp, done := s.cleared[key]
	s.mu.Unlock()
	if fail != nil {
		if err := fail("reconcile"); err != nil {
			return paygate.ReconcileResponse{}, err
		}
	}
	if done {
		return resp, nil
	}
	pricing, err := paygate.ParsePricing(r.Pricing)
	if err != nil {
		return paygate.ReconcileResponse{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.records[key]; ok {
		if rec.totals != r.Totals {
			return paygate.ReconcileResponse{ResponseCode: "95", Totals: rec.totals}, nil
		}
		resp = paygate.ReconcileResponse{ResponseCode: paygate.ResponseApproved, Totals: rec.totals, Fees: rec.fees,
			Funded: rec.totals.Net() - rec.fees}
		if s.cleared == nil {
			s.cleared = map[string]paygate.ReconcileResponse{}
		}
		s.cleared[key] = resp
		s.funded += resp.Funded
		return resp, nil
	}
	var t paygate.Totals
	var fees int64
	var diffs []paygate.BatchDifference
	err = s.eachItem(ctx, r.MerchantID, r.Currency, r.BatchNumber, func(it *paygate.BatchItem) {
		if s.lost[it.RRN] && !s.uploaded[ukey][it.RRN] {
			diffs = append(diffs, paygate.BatchDifference{RRN: it.RRN, Kind: "missing_at_acquirer", Amount: it.Amount})
			return
		}
		rec := *it
		if a, ok := s.changed[it.RRN]; ok {
			rec.Amount = a
			diffs = append(diffs, paygate.BatchDifference{RRN: it.RRN, Kind: "amount_differs", Amount: it.Amount, AcquirerAmount: a})
		}
		if rec.Kind == "debit" {
			t.DebitsCount, t.DebitsAmount = t.DebitsCount+1, t.DebitsAmount+rec.Amount
		} else {
			t.CreditsCount, t.CreditsAmount = t.CreditsCount+1, t.CreditsAmount+rec.Amount
		}
		fees += pricing.Fee(&rec)
	})
	if err != nil {
		return paygate.ReconcileResponse{}, err
	}
	if t != r.Totals {
		sort.Slice(diffs, func(i, j int) bool { return diffs[i].RRN < diffs[j].RRN })
		out := paygate.ReconcileResponse{ResponseCode: "95", Totals: t}
		if len(s.uploaded[ukey]) > 0 {
			out.Differences = diffs
		}
		return out, nil
	}
	resp = paygate.ReconcileResponse{ResponseCode: paygate.ResponseApproved, Totals: t, Fees: fees, Funded: t.Net() - fees}
	if s.cleared == nil {
		s.cleared = map[string]paygate.ReconcileResponse{}
	}
	s.cleared[key] = resp
	s.funded += resp.Funded
	return resp, nil
}

// Upload answers a 0320: the acquirer takes the gateway's record.
func (s *Settler) Upload(ctx context.Context, r paygate.UploadRequest) (string, error) {
	s.mu.Lock()
	s.Uploads++
	fail := s.Fail
	s.mu.Unlock()
	if fail != nil {
		if err := fail("upload"); err != nil {
			return "", err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.uploaded == nil {
		s.uploaded = map[string]map[string]bool{}
	}
	key := batchKey(r.Item.Currency, r.BatchNumber)
	if s.uploaded[key] == nil {
		s.uploaded[key] = map[string]bool{}
	}
	s.uploaded[key][r.Item.RRN] = true
	return paygate.ResponseApproved, nil
}
