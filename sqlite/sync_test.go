package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/sqlite"
)

// gate holds the writer's syncs: each waits until the test lets one
// through, and tells the test it is waiting.
type gate struct {
	waiting chan struct{}
	release chan error
}

// holdSyncs lasts until the test ends: then syncs go through again, so
// that the database closes even after a failure.
func holdSyncs(t *testing.T, db *sqlite.DB) *gate {
	g := &gate{waiting: make(chan struct{}, 1000), release: make(chan error)}
	sqlite.SetSyncHook(db, func() error {
		g.waiting <- struct{}{}
		return <-g.release
	})
	t.Cleanup(func() { close(g.release) })
	return g
}

// returned reports whether done is closed within a short while: used to
// check that something has NOT happened yet, which no event can signal.
func returned(done <-chan error) bool {
	select {
	case <-done:
		return true
	case <-time.After(100 * time.Millisecond):
		return false
	}
}

// TestWriteWaitsForSync: the writer commits without waiting for the disk,
// but a write is answered only once its commit is synced; a write that
// arrives meanwhile runs (the writer does not wait) and is answered after
// its own commit's sync.
func TestWriteWaitsForSync(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	s := Stores(db)
	ctx := context.Background()
	g := holdSyncs(t, db)

	m1 := storetest.NewMerchant(t, "First", time.Now())
	first := make(chan error, 1)
	go func() { first <- s.Merchants.CreateMerchant(ctx, m1) }()
	<-g.waiting // committed; its sync is held
	if _, err := s.Merchants.Merchant(ctx, m1.ID); err != nil {
		t.Fatalf("the committed merchant is not readable while its sync is held: %v", err)
	}
	if returned(first) {
		t.Fatal("the write was answered before its commit was synced")
	}

	m2 := storetest.NewMerchant(t, "Second", time.Now())
	second := make(chan error, 1)
	go func() { second <- s.Merchants.CreateMerchant(ctx, m2) }()
	if returned(second) {
		t.Fatal("the second write was answered before any sync")
	}
	g.release <- nil // the first sync
	if err := <-first; err != nil {
		t.Fatalf("first write: %v", err)
	}
	<-g.waiting // the second write's commit, synced on its own
	if returned(second) {
		t.Fatal("the second write was answered with the first's sync")
	}
	g.release <- nil
	if err := <-second; err != nil {
		t.Fatalf("second write: %v", err)
	}
	if _, err := s.Merchants.Merchant(ctx, m2.ID); err != nil {
		t.Errorf("second merchant: %v", err)
	}
}

// TestReplayWaitsForSync: a payment read by its idempotency key (to replay
// it to a retry) is returned only once what was read is durable.
func TestReplayWaitsForSync(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	s := Stores(db)
	ctx := context.Background()
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	p := storetest.NewPayment(t, m.ID, time.Now())
	p.Status, p.IdempotencyKey, p.RequestHash = paygate.StatusPending, "key-1", "hash-1"
	if err := s.Payments.CreatePayment(ctx, p); err != nil {
		t.Fatal(err)
	}

	g := holdSyncs(t, db)
	p.Status, p.AmountCaptured = paygate.StatusCaptured, p.Amount
	approved := make(chan error, 1)
	go func() { approved <- s.Payments.UpdatePayment(ctx, p) }()
	<-g.waiting // the approval is committed, not durable

	type found struct {
		p   *paygate.Payment
		err error
	}
	lookup := make(chan found, 1)
	go func() {
		q, err := s.Payments.PaymentByIdempotencyKey(ctx, m.ID, "key-1")
		lookup <- found{q, err}
	}()
	select {
	case f := <-lookup:
		t.Fatalf("the lookup returned (%v) before the approval it read was durable", f.err)
	case <-time.After(100 * time.Millisecond):
	}
	g.release <- nil // the approval's sync
	<-g.waiting      // the lookup's own (empty) commit
	g.release <- nil
	f := <-lookup
	if f.err != nil || f.p.Status != paygate.StatusCaptured {
		t.Fatalf("lookup: %+v, %v; want the captured payment", f.p, f.err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
}

// TestSyncFailure: a failed sync fails the writes of its commit, and every
// write after it: the disk may have lost what it was given.
func TestSyncFailure(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	s := Stores(db)
	ctx := context.Background()
	disk := errors.New("input/output error")
	sqlite.SetSyncHook(db, func() error { return disk })
	if err := s.Merchants.CreateMerchant(ctx, storetest.NewMerchant(t, "Lost", time.Now())); !errors.Is(err, disk) {
		t.Fatalf("write whose sync failed: %v, want the sync's error", err)
	}
	sqlite.SetSyncHook(db, nil)
	if err := s.Merchants.CreateMerchant(ctx, storetest.NewMerchant(t, "After", time.Now())); !errors.Is(err, disk) {
		t.Fatalf("write after a failed sync: %v, want the sync's error", err)
	}
}

// The checkpointer copies committed pages of the log into the database
// file after commits, outside the writer.
func TestCheckpointer(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	type ckpt struct {
		copied int
		err    error
	}
	done := make(chan ckpt, 100)
	sqlite.SetCheckpointHook(db, func(copied int, err error) {
		select {
		case done <- ckpt{copied, err}:
		default:
		}
	})
	s := Stores(db)
	m := storetest.NewMerchant(t, "Acme", time.Now())
	if err := s.Merchants.CreateMerchant(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-done:
		if c.err != nil || c.copied == 0 {
			t.Fatalf("checkpoint after a commit: %d pages copied, %v", c.copied, c.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no checkpoint within 10 s of a commit")
	}
}
