package storetest

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/sqlstore"
)

// The tests below hold a database engine's write path (group commit) to
// the same behaviour in every engine. Unlike Run's, they need what only the
// engine's own tests can reach: its writers, its queue and its Close.

// HoldWriter occupies one writer with a write that waits until release is
// called, so that writes queued meanwhile go into its next batch. write is
// the engine's way in to its writers.
func HoldWriter(tb testing.TB, write func(context.Context, *sqlstore.Write) error) (release func()) {
	tb.Helper()
	started, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- write(context.Background(), &sqlstore.Write{Then: func(sqlstore.Tx) error {
			select {
			case <-started: // run again after a failure beside it: do not block twice
			default:
				close(started)
				<-unblock
			}
			return nil
		}})
	}()
	<-started
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(unblock)
			if err := <-done; err != nil {
				tb.Errorf("held write: %v", err)
			}
		})
	}
	tb.Cleanup(release)
	return release
}

// Batcher is an engine's write path as the batch tests drive it.
type Batcher struct {
	Stores Stores
	// Write is the engine's way in to its writers, and Queue the writes
	// that wait for them.
	Write func(context.Context, *sqlstore.Write) error
	Queue *sqlstore.Queue
	// Commits, if the engine counts them, returns how many transactions
	// the writers have committed.
	Commits func() int64
}

// GroupCommitPartialFailure checks that one write of a batch may fail
// while its neighbours in the same commit do not.
func GroupCommitPartialFailure(t *testing.T, b Batcher) {
	s := b.Stores
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	p0 := NewPayment(t, m.ID, Base)
	MustCreatePayment(t, s.Payments, p0)
	before := MustPayment(t, s.Payments, m.ID, p0.ID)

	const n = 10
	good := make([]*paygate.Payment, n)
	for i := range good {
		good[i] = NewPayment(t, m.ID, Base.Add(time.Duration(i+1)*time.Second))
	}
	dup := NewPayment(t, m.ID, Base.Add(time.Hour))
	dup.ConfirmationNumber = p0.ConfirmationNumber

	// A SaveRefund whose payment update succeeds and whose refund insert
	// then fails (no such payment): the payment update must be undone too.
	half := MustPayment(t, s.Payments, m.ID, p0.ID)
	half.Status, half.AmountCaptured, half.AmountRefunded = paygate.StatusPartiallyRefunded, half.Amount, 100
	orphan := &paygate.Refund{
		ID: paygate.NewID("re", Base), PaymentID: paygate.NewID("pay", Base), MerchantID: m.ID,
		Amount: 100, Currency: half.Currency, Status: paygate.RefundSucceeded, STAN: "000001", RRN: "000000000001",
		TransmittedAt: Base, CreatedAt: Base, UpdatedAt: Base,
	}

	// A write that loses a race without a database error (no row matched)
	// and one that needs a second round trip (a taken idempotency key).
	stale := MustPayment(t, s.Payments, m.ID, p0.ID)
	stale.Version--
	stale.Status = paygate.StatusCaptured // an event it must not write
	first := &paygate.IdempotencyRecord{MerchantID: m.ID, Key: "k", RequestHash: "h", CreatedAt: Base, LockedAt: Base}
	if _, err := s.Idempotency.BeginIdempotent(t.Context(), first, Base.Add(-time.Hour)); err != nil {
		t.Fatalf("BeginIdempotent: %v", err)
	}
	again := *first

	release := HoldWriter(t, b.Write)
	var wg sync.WaitGroup
	var staleErr, againErr error
	var existing *paygate.IdempotencyRecord
	wg.Go(func() { staleErr = s.Payments.UpdatePayment(t.Context(), stale) })
	wg.Go(func() {
		existing, againErr = s.Idempotency.BeginIdempotent(t.Context(), &again, Base.Add(-time.Hour))
	})
	goodErrs := make([]error, n)
	for i, p := range good[:n/2] {
		wg.Go(func() { goodErrs[i] = s.Payments.CreatePayment(t.Context(), p) })
	}
	var dupErr, refundErr error
	wg.Go(func() { dupErr = s.Payments.CreatePayment(t.Context(), dup) })
	wg.Go(func() { refundErr = s.Payments.SaveRefund(t.Context(), half, orphan) })
	for i, p := range good[n/2:] {
		wg.Go(func() { goodErrs[n/2+i] = s.Payments.CreatePayment(t.Context(), p) })
	}
	deadline := time.Now().Add(10 * time.Second)
	for b.Queue.Len() < n+4 {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("queued writes: got %d, want %d", b.Queue.Len(), n+4)
		}
		time.Sleep(time.Millisecond)
	}
	var commits int64
	if b.Commits != nil {
		commits = b.Commits()
	}
	release() // all n+4 writes now go into one batch
	wg.Wait()
	// The held write's, then one for the n+1 good writes; the three
	// failing writes, run again alone, commit nothing.
	if b.Commits != nil {
		if got := b.Commits() - commits; got != 2 {
			t.Errorf("commits: got %d, want 2 (the held write, then the batch)", got)
		}
	}

	for i, err := range goodErrs {
		if err != nil {
			t.Errorf("CreatePayment #%d beside a failing write: %v", i, err)
		}
	}
	if !errors.Is(dupErr, paygate.ErrDuplicate) {
		t.Errorf("CreatePayment of a duplicate in a batch: got %v, want ErrDuplicate", dupErr)
	}
	if refundErr == nil || errors.Is(refundErr, paygate.ErrVersionConflict) {
		t.Errorf("SaveRefund of a refund of no payment: got %v, want a foreign key error", refundErr)
	}
	if !errors.Is(staleErr, paygate.ErrVersionConflict) {
		t.Errorf("UpdatePayment of a stale copy in a batch: got %v, want ErrVersionConflict", staleErr)
	}
	if againErr != nil || existing == nil || existing.RequestHash != "h" {
		t.Errorf("BeginIdempotent of a taken key in a batch: got %+v, %v; want the first record", existing, againErr)
	}
	if half.Version != before.Version {
		t.Errorf("Version after a failed SaveRefund: got %d, want %d", half.Version, before.Version)
	}

	for _, p := range good {
		CheckEqual(t, "payment written beside a failing write", MustPayment(t, s.Payments, m.ID, p.ID), p)
	}
	if _, err := s.Payments.Payment(t.Context(), m.ID, dup.ID); err == nil {
		t.Errorf("Payment(duplicate): got it stored, want it rolled back")
	}
	CheckEqual(t, "payment of the failed SaveRefund", MustPayment(t, s.Payments, m.ID, p0.ID), before)

	// The events of the writes that failed were undone with them; those
	// of their neighbours were not.
	for _, p := range append([]*paygate.Payment{p0, dup}, good...) {
		list, _, err := s.Events.Events(t.Context(), paygate.EventFilter{MerchantID: m.ID, PaymentID: p.ID, Limit: 10})
		var types []string
		for _, e := range list {
			types = append(types, e.Type)
		}
		want := []string{paygate.EventPaymentAuthorized}
		if p == dup {
			want = nil
		}
		if err != nil || !slices.Equal(types, want) {
			t.Errorf("events of payment %s written in a batch: got %v, %v; want %v", p.ID, types, err, want)
		}
	}
}

// Wait returns the error fn returns, or fails the test if fn hangs.
func Wait(tb testing.TB, what string, fn func() error) error {
	tb.Helper()
	errc := make(chan error, 1)
	go func() { errc <- fn() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(5 * time.Second):
		tb.Fatalf("%s: still waiting after 5s", what)
		return nil
	}
}

// WriteAfterClose checks that after close every write and read fails at
// once, and that closing again is harmless. s are open stores, and close
// closes their database.
func WriteAfterClose(t *testing.T, s Stores, close func() error) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")
	if err := Wait(t, "Close", close); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The writers' queue has room: a write must not slip into it and wait
	// forever for writers that are gone.
	for i := range 50 {
		p := NewPayment(t, m.ID, Base)
		if err := Wait(t, "CreatePayment after Close", func() error { return s.Payments.CreatePayment(t.Context(), p) }); err == nil {
			t.Fatalf("CreatePayment #%d after Close: got nil error, want one", i)
		}
	}
	if _, err := s.Sequences.Reserve(t.Context(), "rrn", 10); err == nil {
		t.Errorf("Reserve after Close: got nil error, want one")
	}
	if _, err := s.Merchants.Merchant(t.Context(), m.ID); err == nil {
		t.Errorf("Merchant after Close: got nil error, want one")
	}
	if err := close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}

// CloseWhileWriting checks that writes racing close either succeed, and
// are then durable, or fail, and that none hangs. s are open stores, close
// closes their database and reopen opens it again.
func CloseWhileWriting(t *testing.T, s Stores, close func() error, reopen func() Stores) {
	m := MustCreateMerchant(t, s.Merchants, "Acme")

	const writers = 8
	var mu sync.Mutex
	var written []*paygate.Payment
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				p := NewPayment(t, m.ID, Base)
				if err := s.Payments.CreatePayment(t.Context(), p); err != nil {
					return
				}
				mu.Lock()
				written = append(written, p)
				mu.Unlock()
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := Wait(t, "Close while writing", close); err != nil {
		t.Fatalf("Close: %v", err)
	}
	Wait(t, "writers after Close", func() error { wg.Wait(); return nil })

	s = reopen()
	for _, p := range written {
		if _, err := s.Payments.Payment(t.Context(), m.ID, p.ID); err != nil {
			t.Errorf("Payment acknowledged before Close: %v", err)
		}
	}
	t.Logf("%d payments written before Close", len(written))
}

// MigrationFiles returns the names of an engine's migration files, sorted:
// the engine's tests run in its package's directory.
func MigrationFiles(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("migration/*.sql")
	if err != nil || len(files) == 0 {
		tb.Fatalf("migration files: got %v, %v", files, err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	slices.Sort(names)
	return names
}
