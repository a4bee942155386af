package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
)

var sequenceTests = []test{
	{"Reserve", testSequenceReserve},
	{"Concurrent", testSequenceConcurrent},
	{"StaleAuthorizations", testStaleAuthorizations},
}

func testSequenceReserve(t *testing.T, s Stores) {
	ctx := t.Context()
	for i, tc := range []struct {
		name  string
		n     int64
		first int64
	}{{"rrn", 1000, 1}, {"rrn", 1000, 1001}, {"other", 5, 1}, {"rrn", 1, 2001}} {
		got, err := s.Sequences.Reserve(ctx, tc.name, tc.n)
		if err != nil || got != tc.first {
			t.Errorf("reserve %d: got %d %v, want %d", i, got, err, tc.first)
		}
	}
	if _, err := s.Sequences.Reserve(ctx, "rrn", 0); err == nil {
		t.Errorf("reserve 0: got nil, want an error")
	}
}

func testSequenceConcurrent(t *testing.T, s Stores) {
	var mu sync.Mutex
	firsts := map[int64]bool{}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			first, err := s.Sequences.Reserve(t.Context(), "rrn", 100)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Errorf("reserve: %v", err)
				return
			}
			firsts[first] = true
		})
	}
	wg.Wait()
	if len(firsts) != 20 {
		t.Fatalf("got %d distinct blocks, want 20", len(firsts))
	}
	for f := range firsts {
		if (f-1)%100 != 0 || f > 1901 {
			t.Errorf("block starts at %d, want 1, 101, ..., 1901", f)
		}
	}
}

func testStaleAuthorizations(t *testing.T, s Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	old := NewPayment(t, m.ID, Base)
	old.Status = paygate.StatusAuthorized
	MustCreatePayment(t, s.Payments, old)
	young := NewPayment(t, m.ID, Base.Add(time.Hour))
	young.Status = paygate.StatusAuthorized
	MustCreatePayment(t, s.Payments, young)
	captured := NewPayment(t, m.ID, Base)
	captured.Status = paygate.StatusCaptured
	MustCreatePayment(t, s.Payments, captured)

	got, err := s.Payments.StaleAuthorizations(t.Context(), Base.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != old.ID {
		t.Errorf("got %d payments, want only the old authorization", len(got))
	}
}
