package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var concurrentTests = []test{
	{"CreatePayment", testConcurrentCreate},
	{"UpdatePayment", testConcurrentUpdate},
	{"BeginIdempotent", testConcurrentBegin},
}

// race runs fn(i) for i in [0, n) in n goroutines released at once and
// returns their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func testConcurrentCreate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	const n = 50
	ps := make([]*paygate.Payment, n)
	for i := range ps {
		ps[i] = NewPayment(t, m.ID, Base.Add(time.Duration(i)*time.Millisecond))
	}
	for i, err := range race(n, func(i int) error { return s.Payments.CreatePayment(t.Context(), ps[i]) }) {
		if err != nil {
			t.Errorf("CreatePayment #%d: %v", i, err)
		}
	}
	list, _ := mustList(t, s.Payments, paygate.PaymentFilter{MerchantID: m.ID, Limit: 2 * n})
	want := make([]string, n)
	for i, p := range ps {
		want[i] = p.ID
	}
	checkIDs(t, "Payments after concurrent creates", list, want...)
	for _, p := range ps {
		CheckEqual(t, "payment created concurrently", MustPayment(t, s.Payments, m.ID, p.ID), p)
	}
}

func testConcurrentUpdate(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p := NewPayment(t, m.ID, Base)
	MustCreatePayment(t, s.Payments, p)
	const n = 20
	copies := make([]*paygate.Payment, n)
	for i := range copies {
		c := copyPayment(p)
		c.Status, c.AmountCaptured = paygate.StatusCaptured, int64(100+i)
		c.CapturedAt, c.UpdatedAt = Base.Add(time.Minute), Base.Add(time.Minute)
		copies[i] = c
	}
	winner := -1
	for i, err := range race(n, func(i int) error { return s.Payments.UpdatePayment(t.Context(), copies[i]) }) {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("UpdatePayment #%d and #%d from the same version: both succeeded, want one", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, paygate.ErrVersionConflict):
			t.Errorf("UpdatePayment #%d: got %v, want nil or ErrVersionConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatalf("UpdatePayment from the same version: none of %d succeeded, want one", n)
	}
	CheckEqual(t, "Payment after the race", MustPayment(t, s.Payments, m.ID, p.ID), copies[winner])
}

func testConcurrentBegin(t *testing.T, s Stores) {
	const n = 20
	winner := -1
	existing := make([]*paygate.IdempotencyRecord, n)
	errs := race(n, func(i int) error {
		rec := newRecord("acct_1", "same-key", fmt.Sprintf("hash-%d", i), Base)
		var err error
		existing[i], err = s.Idempotency.BeginIdempotent(t.Context(), rec, notStale)
		return err
	})
	for i, err := range errs {
		switch {
		case err != nil:
			t.Errorf("BeginIdempotent #%d: %v", i, err)
		case existing[i] == nil && winner >= 0:
			t.Errorf("BeginIdempotent #%d and #%d on the same key: both got the lock, want one", winner, i)
		case existing[i] == nil:
			winner = i
		}
	}
	if winner < 0 {
		t.Fatalf("BeginIdempotent on the same key: none of %d got the lock, want one", n)
	}
	for i, e := range existing {
		if e != nil && e.RequestHash != fmt.Sprintf("hash-%d", winner) {
			t.Errorf("BeginIdempotent #%d: got the record of request %s, want the winner's hash-%d", i, e.RequestHash, winner)
		}
	}
}
