package sqlite_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/paygate/paygate"
	"github.com/paygate/paygate/internal/storetest"
	"github.com/paygate/paygate/sqlite"
)

// MustOpen opens the database at path and closes it when the test ends.
func MustOpen(tb testing.TB, path string) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(path)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

// Stores returns every store on db.
func Stores(db *sqlite.DB) storetest.Stores { return storetest.Of(db.Stores()) }

func TestStores(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Stores {
		return Stores(MustOpen(t, filepath.Join(t.TempDir(), "test.db")))
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	p := storetest.NewPayment(t, m.ID, storetest.Base)
	storetest.MustCreatePayment(t, s.Payments, p)
	first, err := db.Migrations(t.Context())
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	files, err := filepath.Glob("migration/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: got %v, %v", files, err)
	}
	var want []string
	for _, f := range files {
		want = append(want, filepath.Base(f))
	}
	slices.Sort(want)
	if !slices.Equal(first, want) {
		t.Errorf("Migrations after the first Open: got %v, want %v", first, want)
	}

	db = MustOpen(t, path) // would fail if a migration ran twice
	s = Stores(db)
	got, err := db.Migrations(t.Context())
	if err != nil {
		t.Fatalf("Migrations after reopening: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Migrations after reopening: got %v, want %v", got, want)
	}
	if _, err := s.Merchants.Merchant(t.Context(), m.ID); err != nil {
		t.Errorf("Merchant after reopening: %v", err)
	}
	storetest.CheckEqual(t, "Payment after reopening", storetest.MustPayment(t, s.Payments, m.ID, p.ID), p)
}

// One write of a batch fails; its neighbours in the same commit do not.
func TestGroupCommitPartialFailure(t *testing.T) {
	db := MustOpen(t, filepath.Join(t.TempDir(), "test.db"))
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	p0 := storetest.NewPayment(t, m.ID, storetest.Base)
	storetest.MustCreatePayment(t, s.Payments, p0)
	before := storetest.MustPayment(t, s.Payments, m.ID, p0.ID)

	const n = 10
	good := make([]*paygate.Payment, n)
	for i := range good {
		good[i] = storetest.NewPayment(t, m.ID, storetest.Base.Add(time.Duration(i+1)*time.Second))
	}
	dup := storetest.NewPayment(t, m.ID, storetest.Base.Add(time.Hour))
	dup.ConfirmationNumber = p0.ConfirmationNumber

	// A SaveRefund whose payment update succeeds and whose refund insert
	// then fails (no such payment): the payment update must be undone too.
	half := storetest.MustPayment(t, s.Payments, m.ID, p0.ID)
	half.Status, half.AmountCaptured, half.AmountRefunded = paygate.StatusPartiallyRefunded, half.Amount, 100
	orphan := &paygate.Refund{
		ID: paygate.NewID("re", storetest.Base), PaymentID: paygate.NewID("pay", storetest.Base), MerchantID: m.ID,
		Amount: 100, Currency: half.Currency, Status: paygate.RefundPending, STAN: "000001", RRN: "000000000001",
		TransmittedAt: storetest.Base, CreatedAt: storetest.Base, UpdatedAt: storetest.Base,
	}

	release := sqlite.HoldWriter(t, db)
	var wg sync.WaitGroup
	goodErrs := make([]error, n)
	for i, p := range good {
		wg.Go(func() { goodErrs[i] = s.Payments.CreatePayment(t.Context(), p) })
	}
	var dupErr, refundErr error
	wg.Go(func() { dupErr = s.Payments.CreatePayment(t.Context(), dup) })
	wg.Go(func() { refundErr = s.Payments.SaveRefund(t.Context(), half, orphan) })
	deadline := time.Now().Add(10 * time.Second)
	for sqlite.QueuedWrites(db) < n+2 {
		if time.Now().After(deadline) {
			release()
			t.Fatalf("queued writes: got %d, want %d", sqlite.QueuedWrites(db), n+2)
		}
		time.Sleep(time.Millisecond)
	}
	release() // all n+2 writes now go into one batch
	wg.Wait()

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
	if half.Version != before.Version {
		t.Errorf("Version after a failed SaveRefund: got %d, want %d", half.Version, before.Version)
	}

	for _, p := range good {
		storetest.CheckEqual(t, "payment written beside a failing write", storetest.MustPayment(t, s.Payments, m.ID, p.ID), p)
	}
	if _, err := s.Payments.Payment(t.Context(), m.ID, dup.ID); err == nil {
		t.Errorf("Payment(duplicate): got it stored, want it rolled back")
	}
	storetest.CheckEqual(t, "payment of the failed SaveRefund", storetest.MustPayment(t, s.Payments, m.ID, p0.ID), before)
}

// wait returns the error fn returns, or fails the test if fn hangs.
func wait(tb testing.TB, what string, fn func() error) error {
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

func TestWriteAfterClose(t *testing.T) {
	db, err := sqlite.Open(filepath.Join(t.TempDir(), "test.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The writer's queue has room: a write must not slip into it and wait
	// forever for a writer that is gone.
	for i := range 50 {
		p := storetest.NewPayment(t, m.ID, storetest.Base)
		if err := wait(t, "CreatePayment after Close", func() error { return s.Payments.CreatePayment(t.Context(), p) }); err == nil {
			t.Fatalf("CreatePayment #%d after Close: got nil error, want one", i)
		}
	}
	if _, err := s.Merchants.Merchant(t.Context(), m.ID); err == nil {
		t.Errorf("Merchant after Close: got nil error, want one")
	}
	if err := db.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
}

// Writes racing Close either succeed, and are then durable, or fail; none hangs.
func TestCloseWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s := Stores(db)
	m := storetest.MustCreateMerchant(t, s.Merchants, "Acme")

	const writers = 8
	var mu sync.Mutex
	var written []*paygate.Payment
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				p := storetest.NewPayment(t, m.ID, storetest.Base)
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
	if err := wait(t, "Close while writing", db.Close); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wait(t, "writers after Close", func() error { wg.Wait(); return nil })

	s = Stores(MustOpen(t, path))
	for _, p := range written {
		if _, err := s.Payments.Payment(t.Context(), m.ID, p.ID); err != nil {
			t.Errorf("Payment acknowledged before Close: %v", err)
		}
	}
	t.Logf("%d payments written before Close", len(written))
}

func TestNewDatabaseIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	db, err := sqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("got mode %v, want 0600", mode)
	}
}
